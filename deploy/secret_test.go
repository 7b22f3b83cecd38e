package deploy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A secretDef is what deploy/kubernetes says of a Secret a pod mounts:
// either a manifest of its own, or a comment saying how to make it
// (`kubectl create secret tls NAME …`), which gives a kubernetes.io/tls
// Secret with the keys tls.crt and tls.key.
type secretDef struct {
	where string
	typ   corev1.SecretType
	keys  []string
}

// secretDefs finds the Secrets deploy/kubernetes defines or documents.
func secretDefs(ms []manifest) (map[string]secretDef, error) {
	defs := map[string]secretDef{}
	for _, m := range ms {
		if s, ok := m.obj.(*corev1.Secret); ok {
			var keys []string
			for k := range s.Data {
				keys = append(keys, k)
			}
			for k := range s.StringData {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			defs[s.Name] = secretDef{m.where, s.Type, keys}
		}
	}
	files, _ := filepath.Glob("kubernetes/*.yaml")
	re := regexp.MustCompile(`(?m)^#\s+kubectl create secret tls ([a-z0-9.-]+) --cert=\S+ --key=\S+`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if _, ok := defs[m[1]]; !ok {
				defs[m[1]] = secretDef{f + " (comment)", corev1.SecretTypeTLS, []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey}}
			}
		}
	}
	return defs, nil
}

// A secretFile is one file a container sees from a Secret volume.
type secretFile struct {
	volume, secret, key string
	mode                int32
}

// secretFiles maps the files a container sees through its Secret volumes,
// by path, to their volume, Secret, key and mode, as the kubelet lays them
// out: every key of the Secret at the mount path (or only the volume's
// items, at their paths), with the item's mode, else the volume's
// defaultMode, else 0644.
func secretFiles(spec *corev1.PodSpec, c *corev1.Container, defs map[string]secretDef) map[string]secretFile {
	files := map[string]secretFile{}
	for _, vm := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != vm.Name || v.Secret == nil {
				continue
			}
			mode := int32(corev1.SecretVolumeSourceDefaultMode)
			if v.Secret.DefaultMode != nil {
				mode = *v.Secret.DefaultMode
			}
			if len(v.Secret.Items) == 0 {
				for _, k := range defs[v.Secret.SecretName].keys {
					files[path.Join(vm.MountPath, k)] = secretFile{v.Name, v.Secret.SecretName, k, mode}
				}
			}
			for _, it := range v.Secret.Items {
				m := mode
				if it.Mode != nil {
					m = *it.Mode
				}
				files[path.Join(vm.MountPath, it.Path)] = secretFile{v.Name, v.Secret.SecretName, it.Key, m}
			}
		}
	}
	return files
}

// flagValues returns the values of --name in args, as --name=V or --name V.
func flagValues(args []string, name string) []string {
	var vs []string
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			vs = append(vs, v)
		} else if a == "--"+name && i+1 < len(args) {
			vs = append(vs, args[i+1])
		}
	}
	return vs
}

// podIDs are the user, group and supplementary group (fsGroup) a
// container runs as; -1 where unset.
func podIDs(spec *corev1.PodSpec, c *corev1.Container) (uid, gid, fsGroup int64) {
	uid, gid, fsGroup = -1, -1, -1
	if p := spec.SecurityContext; p != nil {
		if p.RunAsUser != nil {
			uid = *p.RunAsUser
		}
		if p.RunAsGroup != nil {
			gid = *p.RunAsGroup
		}
		if p.FSGroup != nil {
			fsGroup = *p.FSGroup
		}
	}
	if s := c.SecurityContext; s != nil {
		if s.RunAsUser != nil {
			uid = *s.RunAsUser
		}
		if s.RunAsGroup != nil {
			gid = *s.RunAsGroup
		}
	}
	return uid, gid, fsGroup
}

// readableBy reports whether a Secret file of mode is readable by a
// process of uid and groups, the kubelet making such files owned by root
// and, with an fsGroup, of that group.
func readableBy(mode int32, uid, gid, fsGroup int64) bool {
	switch {
	case uid == 0 || uid == -1:
		return true
	case mode&0o004 != 0:
		return true
	case fsGroup >= 0 && mode&0o040 != 0:
		return true
	case gid == 0 && mode&0o040 != 0:
		return true
	}
	return false
}

// kubeletVolume lays out files in dir as the kubelet's atomic writer does
// for a Secret volume: the files in a timestamped directory, "..data" a
// symlink to it, and each file name a symlink through "..data". The files
// have mode and, when gid >= 0, that group (the pod's fsGroup).
type kubeletVolume struct {
	dir  string
	mode os.FileMode
	gid  int
	n    int
}

// write writes files as the volume's new contents and swaps "..data" onto
// them in one rename, removing the old ones, as an update of the Secret
// does.
func (v *kubeletVolume) write(files map[string][]byte) error {
	v.n++
	ts := fmt.Sprintf("..%s.%09d", time.Now().UTC().Format("2006_01_02_15_04_05"), v.n)
	tsDir := filepath.Join(v.dir, ts)
	if err := os.MkdirAll(tsDir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		p := filepath.Join(tsDir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
		if err := os.Chmod(p, v.mode); err != nil {
			return err
		}
		if v.gid >= 0 {
			if err := os.Chown(p, 0, v.gid); err != nil {
				return err
			}
		}
	}
	data := filepath.Join(v.dir, "..data")
	old, _ := os.Readlink(data)
	if err := os.Symlink(ts, data+"_tmp"); err != nil {
		return err
	}
	if err := os.Rename(data+"_tmp", data); err != nil {
		return err
	}
	for name := range files {
		link := filepath.Join(v.dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				return err
			}
		}
	}
	if old != "" {
		return os.RemoveAll(filepath.Join(v.dir, old))
	}
	return nil
}
