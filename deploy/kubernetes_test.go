package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: 7\n    targetport: 8001\n",            // mis-cased
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: 7\n    protocl: TCP\n",                // unknown
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  type: ClusterIP\n  type: NodePort\n",                    // duplicated
		"apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n",                                                        // unknown kind
		"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {minAvailable: 1, maxunavailable: 1}\n", // mis-cased
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
// target port names a container port of the same protocol.
func TestManifestsReferToEachOther(t *testing.T) {
	ms := loadManifests(t)
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
// exactly its manifest's arguments (in a namespace of its own) and checks
// that what it announces is what the manifest declares: every listener a
// declared container port of that protocol and the reverse, the probes'
// ports and paths answering 200, and the Prometheus annotations pointing at
// the metrics.
func TestManifestsMatchServe(t *testing.T) {
	ran := 0
	for _, m := range loadManifests(t) {
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
			t.Run(m.where+"/"+c.Name, func(t *testing.T) { checkServe(t, c, argv[1:], annotations) })
		}
	}
	if ran == 0 {
		t.Fatal("no manifest runs sockit serve")
	}
}

func checkServe(t *testing.T, c *corev1.Container, args []string, annotations map[string]string) {
	bin := sockitBinary(t)
	ns := netns(t)
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

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
	metricsPort := ""
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	reNet := regexp.MustCompile(`^(tcp|udp)[46]?$`)
	deadline := time.After(30 * time.Second)
	for got := 0; got < want || (metrics && metricsPort == ""); {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve %q ended before announcing its listeners", args)
			}
			ll := parseLogLine(l)
			if mm := reNet.FindStringSubmatch(ll["network"]); ll["msg"] == "listening" && mm != nil {
				_, port, _ := net.SplitHostPort(ll["addr"])
				listening[port+"/"+strings.ToUpper(mm[1])] = true
				got++
			} else if ll["msg"] == "metrics" {
				_, metricsPort, _ = net.SplitHostPort(ll["addr"])
				listening[metricsPort+"/TCP"] = true
			}
		case <-deadline:
			t.Fatalf("serve %q did not announce its listeners", args)
		}
	}
	go func() {
		for range lines {
		}
	}()
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
