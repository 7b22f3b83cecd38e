package deploy

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/sockit/sockit/sockittest"
)

// The kinds deploy/kubernetes may hold. A manifest of another kind fails
// the test: add its group here, and its checks below.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strict decodes YAML or JSON into the registered k8s.io/api type its
// apiVersion and kind name, refusing unknown, duplicated and mis-cased
// fields (apimachinery's strict mode, case-sensitive unlike encoding/json).
var strict = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

// manifest is one YAML document of deploy/kubernetes, decoded.
type manifest struct {
	where string // file#index
	obj   runtime.Object
}

// splitDocs splits a YAML stream at its "---" lines, dropping empty
// documents.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

// loadManifests decodes every document of every deploy/kubernetes/*.yaml
// strictly by its kind.
func loadManifests(t *testing.T) []manifest {
	t.Helper()
	files, _ := filepath.Glob("kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	var ms []manifest
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocs(b) {
			where := fmt.Sprintf("%s#%d", f, i)
			obj, gvk, err := strict.Decode(doc, nil, nil)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if gvk.Kind == "" || gvk.Version == "" {
				t.Errorf("%s: no apiVersion/kind", where)
				continue
			}
			ms = append(ms, manifest{where, obj})
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return ms
}

// TestManifestsDecodeStrictly decodes every manifest; and shows the
// decoder refuses what kubectl apply would silently drop.
func TestManifestsDecodeStrictly(t *testing.T) {
	kinds := map[string]bool{}
	for _, m := range loadManifests(t) {
		kinds[fmt.Sprintf("%T", m.obj)] = true
	}
	for _, want := range []string{"*v1.Deployment", "*v1.Service", "*v1.PodDisruptionBudget"} {
		if !kinds[want] {
			t.Errorf("deploy/kubernetes has no %s", want)
		}
	}
	for _, bad := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: 7\n    targetport: 8001\n",                                                                                     // mis-cased
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: 7\n    protocl: TCP\n",                                                                                         // unknown
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  type: ClusterIP\n  type: NodePort\n",                                                                                             // duplicated
		"apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n",                                                                                                                                 // unknown kind
		"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {minAvailable: 1, maxunavailable: 1}\n",                                                                          // mis-cased
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      volumes:\n      - name: tls\n        secret: {secretname: x}\n",                              // mis-cased
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        volumeMounts:\n        - {name: tls, mountpath: /x}\n", // mis-cased
	} {
		if _, _, err := strict.Decode([]byte(bad), nil, nil); err == nil {
			t.Errorf("strict decoding accepted:\n%s", bad)
		}
	}
}

// podSpecs returns the pod templates of the workload kinds, with the
// restart policies each kind allows.
func podSpecs(m manifest) (spec *corev1.PodSpec, restart []corev1.RestartPolicy) {
	switch o := m.obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec, []corev1.RestartPolicy{"", corev1.RestartPolicyAlways}
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec, []corev1.RestartPolicy{"", corev1.RestartPolicyAlways}
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec, []corev1.RestartPolicy{"", corev1.RestartPolicyAlways}
	case *batchv1.Job:
		return &o.Spec.Template.Spec, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	case *corev1.Pod:
		return &o.Spec, []corev1.RestartPolicy{"", corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	}
	return nil, nil
}

func oneOf[T comparable](v T, allowed ...T) bool { return slices.Contains(allowed, v) }

var protocols = []corev1.Protocol{"", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}

// TestManifestEnums checks the string enums that decoding lets through
// unchecked (any string decodes into corev1.Protocol), and the pod
// security the manifests promise.
func TestManifestEnums(t *testing.T) {
	for _, m := range loadManifests(t) {
		if j, ok := m.obj.(*batchv1.Job); ok && j.Spec.CompletionMode != nil &&
			!oneOf(*j.Spec.CompletionMode, batchv1.NonIndexedCompletion, batchv1.IndexedCompletion) {
			t.Errorf("%s: completionMode %q", m.where, *j.Spec.CompletionMode)
		}
		if s, ok := m.obj.(*corev1.Service); ok {
			if !oneOf(s.Spec.Type, "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName) {
				t.Errorf("%s: service type %q", m.where, s.Spec.Type)
			}
			for _, p := range s.Spec.Ports {
				if !oneOf(p.Protocol, protocols...) {
					t.Errorf("%s: port %s protocol %q", m.where, p.Name, p.Protocol)
				}
			}
		}
		spec, restart := podSpecs(m)
		if spec == nil {
			continue
		}
		if !oneOf(spec.RestartPolicy, restart...) {
			t.Errorf("%s: restartPolicy %q (allowed here: %q)", m.where, spec.RestartPolicy, restart)
		}
		if psc := spec.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("%s: the pod does not require a non-root user", m.where)
		}
		for _, c := range spec.Containers {
			where := m.where + " container " + c.Name
			if !oneOf(c.ImagePullPolicy, "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever) {
				t.Errorf("%s: imagePullPolicy %q", where, c.ImagePullPolicy)
			}
			for _, p := range c.Ports {
				if !oneOf(p.Protocol, protocols...) {
					t.Errorf("%s: port %s protocol %q", where, p.Name, p.Protocol)
				}
				if p.Name != "" {
					if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
						t.Errorf("%s: port name %q: %v", where, p.Name, errs)
					}
				}
			}
			for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
				if pr != nil && pr.HTTPGet != nil && !oneOf(pr.HTTPGet.Scheme, "", corev1.URISchemeHTTP, corev1.URISchemeHTTPS) {
					t.Errorf("%s: probe scheme %q", where, pr.HTTPGet.Scheme)
				}
			}
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Errorf("%s: no securityContext", where)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Errorf("%s: privilege escalation allowed", where)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Errorf("%s: root filesystem writable", where)
			case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL"):
				t.Errorf("%s: capabilities not dropped", where)
			}
		}
	}
}

// containerPort resolves a probe's or Service's target (a name or a number)
// against a container's ports.
func containerPort(c *corev1.Container, target intstr.IntOrString, proto corev1.Protocol) (corev1.ContainerPort, bool) {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, p := range c.Ports {
		pp := p.Protocol
		if pp == "" {
			pp = corev1.ProtocolTCP
		}
		if pp != proto {
			continue
		}
		if (target.Type == intstr.String && p.Name == target.StrVal) || (target.Type == intstr.Int && p.ContainerPort == target.IntVal) {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// TestManifestsReferToEachOther checks the links between manifests: every
// Service and PodDisruptionBudget selects a workload's pods, every Service
// target port names a container port of the same protocol, and every pod's
// volumes are mounted and its Secrets defined (see checkVolumes).
func TestManifestsReferToEachOther(t *testing.T) {
	ms := loadManifests(t)
	defs, err := secretDefs(ms)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if spec, _ := podSpecs(m); spec != nil {
			checkVolumes(t, m.where, spec, defs)
		}
	}
	type pods struct {
		where  string
		labels labels.Set
		spec   *corev1.PodSpec
	}
	var workloads []pods
	for _, m := range ms {
		if d, ok := m.obj.(*appsv1.Deployment); ok {
			sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
			if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("%s: the selector does not match the pod template", m.where)
			}
			workloads = append(workloads, pods{m.where, d.Spec.Template.Labels, &d.Spec.Template.Spec})
		}
	}
	for _, m := range ms {
		switch o := m.obj.(type) {
		case *corev1.Service:
			sel := labels.SelectorFromSet(o.Spec.Selector)
			var matched []pods
			for _, w := range workloads {
				if sel.Matches(w.labels) {
					matched = append(matched, w)
				}
			}
			if len(matched) == 0 {
				t.Errorf("%s: selects no workload", m.where)
			}
			for _, p := range o.Spec.Ports {
				target := p.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(p.Port)
				}
				for _, w := range matched {
					found := false
					for i := range w.spec.Containers {
						if _, ok := containerPort(&w.spec.Containers[i], target, p.Protocol); ok {
							found = true
						}
					}
					if !found {
						t.Errorf("%s: port %s targets %s/%s, which %s does not expose", m.where, p.Name, target.String(), p.Protocol, w.where)
					}
				}
			}
		case *policyv1.PodDisruptionBudget:
			sel := labels.SelectorFromSet(o.Spec.Selector.MatchLabels)
			n := 0
			for _, w := range workloads {
				if sel.Matches(w.labels) {
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s: selects no workload", m.where)
			}
		}
	}
}

// checkVolumes checks a pod's volumes against its containers' mounts and
// deploy/kubernetes's Secrets: every mount names a volume of the pod and
// every volume is mounted; a Secret volume is mounted read-only and names a
// Secret deploy/kubernetes defines or says how to make, with the keys its
// items name; every --tls-cert and --tls-key of a container is a file of
// one of its Secret volumes that the container's user can read (the key
// file no one else), and serve's pairs come from Secrets of type
// kubernetes.io/tls.
func checkVolumes(t *testing.T, where string, spec *corev1.PodSpec, defs map[string]secretDef) {
	t.Helper()
	mounted := map[string]bool{}
	for _, c := range spec.Containers {
		for _, vm := range c.VolumeMounts {
			mounted[vm.Name] = true
			var v *corev1.Volume
			for i := range spec.Volumes {
				if spec.Volumes[i].Name == vm.Name {
					v = &spec.Volumes[i]
				}
			}
			switch {
			case v == nil:
				t.Errorf("%s container %s: mounts volume %q, which the pod does not have", where, c.Name, vm.Name)
			case v.Secret != nil && !vm.ReadOnly:
				t.Errorf("%s container %s: Secret volume %q is mounted writable", where, c.Name, vm.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		if !mounted[v.Name] {
			t.Errorf("%s: volume %q is mounted by no container", where, v.Name)
		}
		if v.Secret == nil {
			continue
		}
		def, ok := defs[v.Secret.SecretName]
		if !ok {
			t.Errorf("%s: volume %q mounts Secret %q, which deploy/kubernetes neither defines nor says how to make", where, v.Name, v.Secret.SecretName)
			continue
		}
		for _, it := range v.Secret.Items {
			if !slices.Contains(def.keys, it.Key) {
				t.Errorf("%s: volume %q takes key %q of Secret %q, which has %q (%s)", where, v.Name, it.Key, v.Secret.SecretName, def.keys, def.where)
			}
		}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		files := secretFiles(spec, c, defs)
		uid, gid, fsGroup := podIDs(spec, c)
		args := append(append([]string{}, c.Command...), c.Args...)
		for _, flag := range []string{"tls-cert", "tls-key"} {
			for _, p := range flagValues(args, flag) {
				f, ok := files[p]
				switch {
				case !ok:
					t.Errorf("%s container %s: --%s %s is no file of its Secret volumes (%v)", where, c.Name, flag, p, slices.Sorted(maps.Keys(files)))
				case defs[f.secret].typ != corev1.SecretTypeTLS:
					t.Errorf("%s container %s: --%s %s comes from Secret %q of type %q, not %s", where, c.Name, flag, p, f.secret, defs[f.secret].typ, corev1.SecretTypeTLS)
				case !readableBy(f.mode, uid, gid, fsGroup):
					t.Errorf("%s container %s: --%s %s has mode %#o, which user %d (group %d, fsGroup %d) cannot read", where, c.Name, flag, p, f.mode, uid, gid, fsGroup)
				case flag == "tls-key" && f.mode&0o007 != 0:
					t.Errorf("%s container %s: the key %s has mode %#o: any user of the pod can read it", where, c.Name, p, f.mode)
				}
			}
		}
	}
}

// diffPorts reports listeners a container does not declare, and declared
// ports nothing listens on.
func diffPorts(declared, listening map[string]bool) (undeclared, dead []string) {
	for k := range listening {
		if !declared[k] {
			undeclared = append(undeclared, k)
		}
	}
	for k := range declared {
		if !listening[k] {
			dead = append(dead, k)
		}
	}
	slices.Sort(undeclared)
	slices.Sort(dead)
	return
}

// netns makes a network namespace of its own for the test, with only lo up,
// so that manifests' fixed ports and 0.0.0.0 binds cannot meet anything of
// the host's.
func netns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running serve in a network namespace needs root (CI runs as root)")
	}
	ip := sockittest.RequireTool(t, "ip")
	name := fmt.Sprintf("sockit-deploy-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", name).Run() })
	if out, err := exec.Command(ip, "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v %s", err, out)
	}
	return name
}

// TestManifestsMatchServe starts every container that runs `serve` with
// exactly its manifest's arguments, as its pod would (see checkServe), and
// checks that what it announces is what the manifest declares: every
// listener a declared container port of that protocol and the reverse, the
// probes' ports and paths answering 200, the Prometheus annotations
// pointing at the metrics, every tls:// listener answering with the
// certificate of the Secret mounted, and an update of the Secret served
// with no restart.
func TestManifestsMatchServe(t *testing.T) {
	ran := 0
	ms := loadManifests(t)
	defs, err := secretDefs(ms)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		spec, _ := podSpecs(m)
		if spec == nil {
			continue
		}
		var annotations map[string]string
		if d, ok := m.obj.(*appsv1.Deployment); ok {
			annotations = d.Spec.Template.Annotations
		}
		for i := range spec.Containers {
			c := &spec.Containers[i]
			argv := append(append([]string{}, c.Command...), c.Args...)
			if len(c.Command) == 0 {
				argv = append([]string{"/sockit"}, c.Args...) // the image's ENTRYPOINT
			}
			if argv[0] != "/sockit" || len(argv) < 2 || argv[1] != "serve" {
				continue
			}
			ran++
			t.Run(m.where+"/"+c.Name, func(t *testing.T) { checkServe(t, spec, c, defs, argv, annotations) })
		}
	}
	if ran == 0 {
		t.Fatal("no manifest runs sockit serve")
	}
}

// checkServe runs c's argv as its pod would: the image's /sockit in a root
// of its own (chroot) holding each of c's Secret volumes at its mountPath
// as the kubelet lays it out (a kubernetes.io/tls Secret as a self-signed
// pair), as the pod's user and group with its fsGroup, in a network
// namespace of its own.
func checkServe(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, defs map[string]secretDef, argv []string, annotations map[string]string) {
	bin := sockitBinary(t)
	ns := netns(t)
	chroot := sockittest.RequireTool(t, "chroot")
	args := argv[1:] // serve and its arguments
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(bin, filepath.Join(root, strings.TrimPrefix(argv[0], "/")), 0o755); err != nil {
		t.Fatal(err)
	}
	uid, gid, fsGroup := podIDs(spec, c)
	if uid < 0 {
		uid = 65532 // the image's USER
	}
	if gid < 0 {
		gid = 65532
	}
	// The Secret volumes, and a pair to put in them.
	var volumes []*kubeletVolume
	var items [][]corev1.KeyToPath
	for _, vm := range c.VolumeMounts {
		var v *corev1.Volume
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == vm.Name {
				v = &spec.Volumes[i]
			}
		}
		if v == nil || v.Secret == nil || defs[v.Secret.SecretName].typ != corev1.SecretTypeTLS {
			t.Fatalf("volume %q: this test can lay out kubernetes.io/tls Secrets only", vm.Name)
		}
		mode := int32(corev1.SecretVolumeSourceDefaultMode)
		if v.Secret.DefaultMode != nil {
			mode = *v.Secret.DefaultMode
		}
		kv := &kubeletVolume{dir: filepath.Join(root, vm.MountPath), mode: os.FileMode(mode), gid: int(fsGroup)}
		if err := os.MkdirAll(kv.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		volumes = append(volumes, kv)
		items = append(items, v.Secret.Items)
	}
	// putPair writes a new self-signed pair into every volume (an update
	// of the Secret) and returns its certificate file, outside the root.
	putPair := func() string {
		cert, key := sockittest.SelfSignedCert(t, t.TempDir())
		byKey := map[string][]byte{}
		for k, f := range map[string]string{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			byKey[k] = b
		}
		for i, kv := range volumes {
			files := byKey
			if len(items[i]) > 0 {
				files = map[string][]byte{}
				for _, it := range items[i] {
					files[it.Path] = byKey[it.Key]
				}
			}
			if err := kv.write(files); err != nil {
				t.Fatal(err)
			}
		}
		return cert
	}
	ca := ""
	if len(volumes) > 0 {
		ca = putPair()
	}

	run := []string{"netns", "exec", ns, chroot, fmt.Sprintf("--userspec=%d:%d", uid, gid)}
	if fsGroup >= 0 {
		run = append(run, fmt.Sprintf("--groups=%d", fsGroup))
	}
	cmd := exec.Command("ip", append(append(run, root), argv...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	log := watchLines(stderr)

	want := 0
	metrics := false
	for _, a := range args[1:] {
		switch {
		case strings.HasPrefix(a, "--metrics"):
			metrics = true
		case !strings.HasPrefix(a, "-") && strings.Contains(a, "="):
			want++
		}
	}
	listening := map[string]bool{}
	tlsPorts := map[int]string{} // port: service
	metricsPort := ""
	reNet := regexp.MustCompile(`^(tcp|udp|tls)[46]?$`)
	for got := 0; got < want || (metrics && metricsPort == ""); {
		l, ok := log.next(30 * time.Second)
		if !ok {
			t.Fatalf("serve %q did not announce its listeners; its log:\n%s", args, log.tail(20))
		}
		ll := parseLogLine(l)
		if mm := reNet.FindStringSubmatch(ll["network"]); ll["msg"] == "listening" && mm != nil {
			_, port, _ := net.SplitHostPort(ll["addr"])
			proto := strings.ToUpper(mm[1])
			if proto == "TLS" {
				proto = "TCP"
				n, _ := strconv.Atoi(port)
				tlsPorts[n] = ll["service"]
			}
			listening[port+"/"+proto] = true
			got++
		} else if ll["msg"] == "metrics" {
			_, metricsPort, _ = net.SplitHostPort(ll["addr"])
			listening[metricsPort+"/TCP"] = true
		}
	}
	declared := map[string]bool{}
	for _, p := range c.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		declared[strconv.Itoa(int(p.ContainerPort))+"/"+string(proto)] = true
	}
	undeclared, dead := diffPorts(declared, listening)
	if len(undeclared) > 0 {
		t.Errorf("serve listens on %v, which the container does not declare", undeclared)
	}
	if len(dead) > 0 {
		t.Errorf("the container declares %v, where serve does not listen", dead)
	}

	get := func(port int32, path string) (string, error) {
		out, err := exec.Command("ip", "netns", "exec", ns, bin, "get", "-f", "-m", "10s",
			fmt.Sprintf("http://127.0.0.1:%d%s", port, path)).CombinedOutput()
		return string(out), err
	}
	probes := 0
	for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if pr == nil || pr.HTTPGet == nil {
			continue
		}
		probes++
		p, ok := containerPort(c, pr.HTTPGet.Port, corev1.ProtocolTCP)
		if !ok {
			t.Errorf("probe port %s is not a TCP port of the container", pr.HTTPGet.Port.String())
			continue
		}
		if out, err := get(p.ContainerPort, pr.HTTPGet.Path); err != nil || !strings.HasPrefix(out, "HTTP/1.1 200") {
			t.Errorf("probe GET :%d%s: %v\n%s", p.ContainerPort, pr.HTTPGet.Path, err, out)
		}
	}
	if probes < 2 {
		t.Errorf("the container has %d HTTP probes, want readiness and liveness", probes)
	}
	if annotations["prometheus.io/scrape"] != "true" {
		t.Errorf("the pod is not annotated for Prometheus scraping")
	}
	port, err := strconv.Atoi(annotations["prometheus.io/port"])
	if err != nil {
		t.Fatalf("prometheus.io/port %q", annotations["prometheus.io/port"])
	}
	path := annotations["prometheus.io/path"]
	if path == "" {
		path = "/metrics"
	}
	if out, err := get(int32(port), path); err != nil || !strings.Contains(out, "\ngo_goroutines ") {
		t.Errorf("the scrape annotations point at :%d%s, which does not serve the metrics: %v\n%.300s", port, path, err, out)
	}

	// Every tls:// listener answers with the Secret's certificate, checked
	// against it; an update of the Secret is served with no restart, and
	// the old certificate no longer.
	if len(tlsPorts) == 0 {
		return
	}
	tlsCheck := func(port int, service, ca string) (string, error) {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if service == "http" {
			out, err := exec.Command("ip", "netns", "exec", ns, bin, "get", "-f", "-i", "-m", "10s", "--cacert", ca, "https://"+addr+"/").CombinedOutput()
			if err == nil && !regexp.MustCompile(`^HTTP/[0-9.]+ 200 `).Match(out) {
				err = errors.New("not 200")
			}
			return string(out), err
		}
		// Another service: the handshake, checked, and a close.
		out, err := exec.Command("ip", "netns", "exec", ns, bin, "connect", "--timeout", "10s", "--ssl-trustfile", ca, addr).CombinedOutput()
		return string(out), err
	}
	for port, service := range tlsPorts {
		if out, err := tlsCheck(port, service, ca); err != nil {
			t.Errorf("%s over TLS on :%d with the Secret's certificate: %v\n%.300s", service, port, err, out)
		}
	}
	renewed := putPair()
	for {
		l, ok := log.next(30 * time.Second)
		if !ok {
			t.Fatal("serve did not reload the certificates after the Secret's update")
		}
		if ll := parseLogLine(l); ll["msg"] == "certificates reloaded" {
			break
		} else if ll["level"] == "ERROR" {
			t.Errorf("after the Secret's update: %s", l)
		}
	}
	for port, service := range tlsPorts {
		if out, err := tlsCheck(port, service, renewed); err != nil {
			t.Errorf("%s over TLS on :%d after the Secret's update: %v\n%.300s", service, port, err, out)
		}
		if out, err := tlsCheck(port, service, ca); err == nil {
			t.Errorf("%s over TLS on :%d after the Secret's update still shows the old certificate\n%.300s", service, port, out)
		}
	}
}

// lineWatch keeps the lines of a reader as they come (so the writer never
// blocks), for next to take in order.
type lineWatch struct {
	mu    sync.Mutex
	lines []string
	pos   int
	done  bool
	more  chan struct{}
}

func watchLines(r io.Reader) *lineWatch {
	w := &lineWatch{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
			select {
			case w.more <- struct{}{}:
			default:
			}
		}
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
		close(w.more)
	}()
	return w
}

// next returns the next line, or false if the reader ends or timeout
// passes first.
func (w *lineWatch) next(timeout time.Duration) (string, bool) {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		if w.pos < len(w.lines) {
			l := w.lines[w.pos]
			w.pos++
			w.mu.Unlock()
			return l, true
		}
		done := w.done
		w.mu.Unlock()
		if done {
			return "", false
		}
		select {
		case <-w.more:
		case <-deadline:
			return "", false
		}
	}
}

// tail returns the last n lines read so far.
func (w *lineWatch) tail(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines[max(0, len(w.lines)-n):], "\n")
}

// copyFile copies the file src to dst with mode.
func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// parseLogLine reads one line of serve's log, in either --log-format: a
// JSON object or logfmt; only string values and bare logfmt values are
// kept, which is all the listening and metrics lines hold.
func parseLogLine(l string) map[string]string {
	m := map[string]string{}
	if strings.HasPrefix(l, "{") {
		var raw map[string]any
		json.Unmarshal([]byte(l), &raw)
		for k, v := range raw {
			if s, ok := v.(string); ok {
				m[k] = s
			}
		}
		return m
	}
	for _, kv := range strings.Fields(l) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
