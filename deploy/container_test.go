package deploy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
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
// version stamped at build time, a non-root user, and `serve` answering
// echo on the host's loopback and stopping cleanly on SIGTERM.
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

	out, err = exec.Command(podman, append(podmanRun, "--network", "none", image, "version")...).CombinedOutput()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "sockit "+version+" (commit ") {
		t.Errorf("podman run version: %q, %v; want the version stamped by -ldflags", out, err)
	}

	port := sockittest.FreePort(t)
	name := "sockit-test-" + id
	run := exec.Command(podman, append(podmanRun, "--net", "host", "--name", name, image,
		"serve", fmt.Sprintf("echo=tcp://127.0.0.1:%d", port))...)
	stderr, _ := run.StderrPipe()
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command(podman, "rm", "-f", name).Run(); run.Process.Kill(); run.Wait() })
	sockittest.WaitLine(t, stderr, regexp.MustCompile(`msg=listening service=echo network=tcp addr=127\.0\.0\.1:`+strconv.Itoa(port)+`$`), 60*time.Second)

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
