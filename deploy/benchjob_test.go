package deploy

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestBenchJob checks bench-job.yaml's Job (decoded strictly, as every
// manifest here): an Indexed Job whose completions, parallelism and
// SOCKIT_SHARDS agree, restartPolicy Never and no retries, the run id
// wired from the Job's name and uid, anti-affinity that spreads its own
// pods over nodes, and args that sockit bench itself accepts: the binary
// runs them for a second against a closed loopback port. (The main
// module's TestBenchJobLocally runs them as N pods and merges.)
func TestBenchJob(t *testing.T) {
	var job *batchv1.Job
	for _, m := range loadManifests(t) { // strict decoding, every manifest
		if j, ok := m.obj.(*batchv1.Job); ok && j.Name == "sockit-bench" {
			job = j
		}
	}
	if job == nil {
		t.Fatal("deploy/kubernetes holds no Job sockit-bench")
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode is not Indexed: pods would get no JOB_COMPLETION_INDEX")
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism || *s.Completions < 2 {
		t.Fatalf("completions %s, parallelism %s: want equal, at least 2 (every shard runs at once)", show(s.Completions), show(s.Parallelism))
	}
	n := int(*s.Completions)
	if s.BackoffLimit == nil || *s.BackoffLimit != 0 {
		t.Errorf("backoffLimit %s: a retried shard would send its load twice", show(s.BackoffLimit))
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if got := env["SOCKIT_SHARDS"].Value; got != strconv.Itoa(n) {
		t.Errorf("SOCKIT_SHARDS %q, want %d (= completions)", got, n)
	}
	if _, set := env["JOB_COMPLETION_INDEX"]; set {
		t.Errorf("JOB_COMPLETION_INDEX is set by hand; Kubernetes sets it in each pod of an Indexed Job")
	}
	fieldOf := func(name string) string {
		if e, ok := env[name]; ok && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			return e.ValueFrom.FieldRef.FieldPath
		}
		return ""
	}
	if f := fieldOf("JOB_NAME"); f != "metadata.labels['batch.kubernetes.io/job-name']" {
		t.Errorf("JOB_NAME from %q, want the pod's job-name label", f)
	}
	if f := fieldOf("JOB_UID"); f != "metadata.labels['batch.kubernetes.io/controller-uid']" {
		t.Errorf("JOB_UID from %q, want the pod's controller-uid label", f)
	}
	// $(VAR) expands only variables defined earlier in the list.
	pos := map[string]int{}
	for i, e := range c.Env {
		pos[e.Name] = i
	}
	run := env["SOCKIT_RUN_ID"]
	if !strings.Contains(run.Value, "$(JOB_NAME)") || pos["SOCKIT_RUN_ID"] < pos["JOB_NAME"] || pos["SOCKIT_RUN_ID"] < pos["JOB_UID"] {
		t.Errorf("SOCKIT_RUN_ID %q must come after JOB_NAME and JOB_UID and use $(JOB_NAME)", run.Value)
	}
	// Anti-affinity over nodes, selecting this Job's own pods.
	spread := false
	if a := pod.Affinity; a != nil && a.PodAntiAffinity != nil {
		var terms []corev1.PodAffinityTerm
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
		for _, term := range terms {
			sel := labels.SelectorFromSet(term.LabelSelector.MatchLabels)
			if term.TopologyKey == "kubernetes.io/hostname" && len(term.LabelSelector.MatchLabels) > 0 && sel.Matches(labels.Set(s.Template.Labels)) {
				spread = true
			}
		}
	}
	if !spread {
		t.Errorf("no pod anti-affinity on kubernetes.io/hostname selecting the Job's own pods")
	}

	// The args: sockit bench accepts them, and prints a marked report.
	args := c.Args
	if len(args) < 2 || args[0] != "bench" || !strings.HasPrefix(args[len(args)-1], "http") {
		t.Fatalf("args %q: want bench ... URL", args)
	}
	hasMarkers := false
	for _, a := range args {
		hasMarkers = hasMarkers || a == "--json-markers"
	}
	if !hasMarkers {
		t.Errorf("args %q lack --json-markers: merge could not find the reports in the logs", args)
	}
	bin := sockitBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A closed loopback port, for one second: the Job's flags, parsed by
	// the real command; the run itself is TestBenchJobLocally's.
	local := append(append([]string{}, args[:len(args)-1]...), "-d", "1s", "--rate", "20", "--warmup", "0s", "http://127.0.0.1:1/")
	cmd := exec.CommandContext(ctx, bin, local...)
	cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX=0", "SOCKIT_SHARDS="+strconv.Itoa(n), "SOCKIT_RUN_ID=check")
	out, err := cmd.Output()
	// Every request to the closed port fails, and bench exits 1 as ab
	// does; a flag the command refuses would be a usage error, exit 2.
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("sockit %s: %v", strings.Join(local, " "), err)
	}
	if !strings.Contains(string(out), "--- sockit bench result begin ---") || !strings.Contains(string(out), `"run_id": "check"`) {
		t.Errorf("the Job's command printed no marked report:\n%s", out)
	}
}

func show(p *int32) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(int(*p))
}
