// Package deploy holds no code: it is the module whose tests check what
// deploy/ ships — the systemd units (systemd-analyze verify), the container
// image (podman build and run), and the Kubernetes manifests (decoded
// strictly into k8s.io/api types, then checked against what `sockit serve`
// really exposes). It is a module of its own so that the main module never
// depends on k8s.io.
package deploy
