package serve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestReloadForgetsDrainedGenerations reloads many times and checks that
// the group keeps no generation once it has drained, and that the kept
// listener still answers.
func TestReloadForgetsDrainedGenerations(t *testing.T) {
	sp, err := ParseSpec("echo=tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opt Options
	opt.Server.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	g, err := StartGroup(ctx, []Spec{sp}, opt)
	if err != nil {
		t.Fatal(err)
	}
	addr := g.Current().Addrs[0].String()
	const reloads = 20
	for range reloads {
		if err := g.Reload(ctx, []Spec{sp}, opt, nil); err != nil {
			t.Fatal(err)
		}
	}
	g.drains.Wait()
	g.mu.Lock()
	kept := len(g.old)
	g.mu.Unlock()
	if kept != 0 {
		t.Errorf("after %d reloads and their drains the group still holds %d old generations", reloads, kept)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Errorf("echo after reloads: %q, %v", buf, err)
	}
	c.Close()
	cancel()
	if err := g.Wait(ctx, func() time.Duration { return time.Second }); err != nil {
		t.Errorf("Wait: %v", err)
	}
}
