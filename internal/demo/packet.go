package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/packet"
)

// packetStep captures the demo's own echo exchange on lo and prints the
// decoded frames. It needs CAP_NET_RAW; without it the step says why it
// skips (ran is false).
func (c Config) packetStep(ctx context.Context, n int, echoEndpoint string) (ran bool, err error) {
	e, err := sockit.ParseEndpoint(echoEndpoint, sockit.Defaults{})
	if err != nil {
		return true, err
	}
	expr := "tcp port " + strconv.Itoa(e.Port())
	fmt.Fprintf(c.Stdout, "\n== %d. Packets: the echo exchange as it crossed lo ==\n# (tcpdump -i lo %s, beside the echo client)\n$ sockit packet capture -i lo %s\n", n, expr, expr)
	f, err := packet.Compile(expr)
	if err != nil {
		return true, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	capt, err := packet.Open(ctx, "lo", f, packet.Options{Blocks: 8, Timeout: time.Millisecond})
	if errors.Is(err, packet.ErrPermission) || errors.Is(err, packet.ErrLinuxOnly) {
		fmt.Fprintf(c.Stdout, "skipped: %v\n", err)
		return false, nil
	}
	if err != nil {
		return true, err
	}
	defer capt.Close()

	// The reader owns the capture until the exchange is over: an echo
	// request and its reply, both FINs and the last ACK.
	lines := make(chan packet.Summary)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ports := map[uint16]string{uint16(e.Port()): "echo"} // the demo's echo port is the kernel's choice
		for p, name := range c.Ports {
			if p != uint16(e.Port()) {
				ports[p] = name
			}
		}
		dec := packet.NewDecoder(ports)
		for {
			fr, err := capt.Next(ctx)
			if err != nil {
				return
			}
			select {
			case lines <- dec.Decode(fr):
			case <-ctx.Done():
				return
			}
		}
	}()
	var out, errb bytes.Buffer
	if code := c.Run(ctx, []string{"echo", echoEndpoint, "captured"}, strings.NewReader(""), &out, &errb); code != 0 {
		cancel()
		<-done
		return true, fmt.Errorf("echo: exit status %d: %s", code, errb.String())
	}
	var req, reply, fins int
	timeout := time.After(5 * time.Second)
	for finished := false; !finished; {
		select {
		case s := <-lines:
			fmt.Fprintln(c.Stdout, s.Line())
			switch {
			case strings.HasPrefix(s.AppInfo, "echo reply"):
				reply++
			case strings.HasPrefix(s.AppInfo, "echo "):
				req++
			}
			if strings.Contains(s.Info, "F") && strings.HasPrefix(s.Info, "[") {
				fins++
			} else if fins == 2 && s.Info != "" && strings.HasPrefix(s.Info, "[.]") {
				finished = true
			}
		case <-timeout:
			finished = true
		}
	}
	cancel()
	<-done
	return true, expect(req == 1 && reply == 1 && fins == 2, fmt.Sprintf("want the echo request, its reply and two FINs; saw %d, %d, %d", req, reply, fins))
}
