package deploy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// podmanRun is how this machine (and CI) runs a container: runc, bounded
// ulimits, and host or no networking.
var podmanRun = []string{"run", "--rm", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

// TestContainerImage builds the image with deploy/container/build as
// shipped (offline: FROM scratch pulls nothing), then checks it: the
// version stamped at build time, a non-root user, the ports it exposes,
// and `serve` answering echo, and HTTPS with a certificate and key mounted
// read-only as the Containerfile says, on the host's loopback, and
// stopping cleanly on SIGTERM.
func TestContainerImage(t *testing.T) {
	podman := sockittest.RequireTool(t, "podman")
	sockittest.RequireTool(t, "runc")
	if os.Geteuid() != 0 {
		t.Skip("podman with runc and host networking needs root here (CI runs as root)")
	}
	id := strconv.Itoa(os.Getpid())
	image := "localhost/sockit-test:" + id
	version := "v0.0.0-test" + id
	build := exec.Command("container/build")
	build.Env = append(os.Environ(), "IMAGE="+image, "VERSION="+version)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("container/build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", image).Run() })

	out, err := exec.Command(podman, "image", "inspect", "--format", "{{.Config.User}}|{{json .Config.Entrypoint}}", image).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != `65532:65532|["/sockit"]` {
		t.Errorf("image user|entrypoint = %s, want a numeric non-root user and /sockit", got)
	}
	out, err = exec.Command(podman, "image", "inspect", "--format", "{{json .Config.ExposedPorts}}", image).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"8443/tcp"`) {
		t.Errorf("the image exposes %s, without 8443/tcp (HTTPS)", out)
	}

	out, err = exec.Command(podman, append(podmanRun, "--network", "none", image, "version")...).CombinedOutput()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "sockit "+version+" (commit ") {
		t.Errorf("podman run version: %q, %v; want the version stamped by -ldflags", out, err)
	}

	// A certificate and key as tls.crt and tls.key (a Kubernetes TLS
	// Secret's names), the key readable by the image's user only.
	tlsDir := t.TempDir()
	certFile, keyFile := sockittest.SelfSignedCert(t, tlsDir)
	for from, to := range map[string]string{certFile: "tls.crt", keyFile: "tls.key"} {
		if err := os.Rename(from, filepath.Join(tlsDir, to)); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(tlsDir, 0o755)
	if err := os.Chown(filepath.Join(tlsDir, "tls.key"), 65532, 65532); err != nil {
		t.Fatal(err)
	}
	port, httpsPort := sockittest.FreePort(t), sockittest.FreePort(t)
	for httpsPort == port {
		httpsPort = sockittest.FreePort(t)
	}
	name := "sockit-test-" + id
	run := exec.Command(podman, append(podmanRun, "--net", "host", "--name", name,
		"-v", tlsDir+":/etc/sockit/tls:ro", image,
		"serve", "--tls-cert", "/etc/sockit/tls/tls.crt", "--tls-key", "/etc/sockit/tls/tls.key",
		fmt.Sprintf("echo=tcp://127.0.0.1:%d", port), fmt.Sprintf("http=tls://127.0.0.1:%d", httpsPort))...)
	stderr, _ := run.StderrPipe()
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command(podman, "rm", "-f", name).Run(); run.Process.Kill(); run.Wait() })
	log := watchLines(stderr)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`msg=listening service=echo network=tcp addr=127\.0\.0\.1:` + strconv.Itoa(port) + `$`),
		regexp.MustCompile(`msg=listening service=http network=tls addr=127\.0\.0\.1:` + strconv.Itoa(httpsPort) + `$`),
	} {
		for {
			l, ok := log.next(60 * time.Second)
			if !ok {
				t.Fatalf("the container did not log a line matching %s; its log:\n%s", want, log.tail(20))
			}
			if want.MatchString(l) {
				break
			}
		}
	}

	// HTTPS, checked against the mounted certificate.
	pem, err := os.ReadFile(filepath.Join(tlsDir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/", httpsPort))
	if err != nil {
		t.Errorf("HTTPS from the container: %v", err)
	} else {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.TLS == nil || !strings.Contains(string(body), "</html>") {
			t.Errorf("HTTPS from the container: %s, %d bytes, %v", resp.Status, len(body), err)
		}
	}
	client.CloseIdleConnections()

	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := sockittest.RandomBytes(64<<10, 7)
	go func() { c.Write(msg); c.(*net.TCPConn).CloseWrite() }()
	back, err := io.ReadAll(c)
	c.Close()
	if err != nil || !bytes.Equal(back, msg) {
		t.Errorf("echo through the container: %d of %d bytes, %v", len(back), len(msg), err)
	}

	if out, err := exec.Command(podman, "kill", "--signal", "TERM", name).CombinedOutput(); err != nil {
		t.Fatalf("podman kill: %v %s", err, out)
	}
	if err := run.Wait(); err != nil {
		t.Errorf("the container after SIGTERM: %v, want exit 0", err)
	}
}
