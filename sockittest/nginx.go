package sockittest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Nginx runs the real nginx as a test peer: one process, no daemon, its
// files in a temporary directory, listening on a free port of 127.0.0.1
// with server holding the rest of its one server block (locations,
// proxy_pass ...). Everything else is nginx's default. It returns the
// address once nginx accepts connections; nginx is stopped with the test.
// Missing nginx skips the test, or fails it under CI (RequireTool).
func Nginx(t testing.TB, server string) string {
	t.Helper()
	return NginxListen(t, "", server)
}

// NginxListen is Nginx with params added to the listen directive: "http2"
// for h2c with prior knowledge, "ssl http2" for h2 and HTTP/1.1 over TLS
// by ALPN (server then names ssl_certificate and ssl_certificate_key).
func NginxListen(t testing.TB, params, server string) string {
	t.Helper()
	bin := RequireTool(t, "nginx")
	dir := t.TempDir()
	port := FreePort(t)
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process off;
error_log %[1]s/error.log info;
pid %[1]s/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fcgi;
	uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
	server {
		listen 127.0.0.1:%[2]d %[4]s;
%[3]s
	}
}
`, dir, port, server, params)
	cfg := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	Eventually(t, 10*time.Second, "nginx listening on "+addr, func() bool {
		select {
		case <-exited:
			t.Fatalf("nginx exited: %s", stderr.String())
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}
