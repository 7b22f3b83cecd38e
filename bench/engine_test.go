package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
	"github.com/sockit/sockit/proto/httpraw"
)

// TestEngineChoice: the engine that ran is named in the text and JSON
// reports; the default picks the loops where they can run the options and
// the goroutines elsewhere; an option the asked-for engine cannot run is an
// error naming the engine, never a silent switch.
func TestEngineChoice(t *testing.T) {
	addr := serve(t, httpraw.Service(&httpraw.Responder{}), "tcp")
	url := "http://" + addr + "/"
	for _, tc := range []struct {
		cfg  bench.Config
		want string
	}{
		{bench.Config{Target: url, Requests: 20, Concurrency: 2, KeepAlive: true}, bench.EngineLoop},
		{bench.Config{Target: url, Requests: 20, Concurrency: 2, Engine: bench.EngineGoroutine}, bench.EngineGoroutine},
		{bench.Config{Target: url, Requests: 20, Concurrency: 2, Engine: bench.EngineLoop, Warmup: 1}, bench.EngineLoop},
		{bench.Config{Target: url, Requests: 20, Concurrency: 2, Rate: 2000}, bench.EngineLoop},
		{bench.Config{Target: url, Requests: 20, Concurrency: 2, Rate: 2000, Engine: bench.EngineGoroutine}, bench.EngineGoroutine},
		{bench.Config{Target: url, Requests: 20, Concurrency: 2, Rate: 2000, Engine: bench.EngineLoop}, bench.EngineLoop},
	} {
		r := run(t, tc.cfg)
		if r.Engine != tc.want || r.Failed() != 0 {
			t.Errorf("%+v: engine %q (failures %v), want %q", tc.cfg, r.Engine, r.Failures, tc.want)
		}
		var text, js bytes.Buffer
		report.WriteExtras(&text, r)
		report.WriteJSON(&js, r)
		if !strings.HasPrefix(text.String(), "sockit: engine "+tc.want+"\n") {
			t.Errorf("text report does not name the engine:\n%s", text.String())
		}
		var j struct{ Engine string }
		if json.Unmarshal(js.Bytes(), &j); j.Engine != tc.want {
			t.Errorf("JSON engine %q, want %q", j.Engine, tc.want)
		}
	}
	for _, tc := range []struct {
		cfg  bench.Config
		want string
	}{
		{bench.Config{Target: "udp://127.0.0.1:7", Engine: bench.EngineLoop}, "Engine: loop cannot run udp (datagrams)"},
		{bench.Config{Target: "tcp://" + addr, Proto: "daytime", Engine: bench.EngineLoop}, "Engine: loop cannot run daytime (only echo)"},
		{bench.Config{Target: url, Engine: "uring"}, `Engine: "uring": want goroutine or loop`},
	} {
		_, err := bench.Run(context.Background(), tc.cfg)
		var fe *bench.FieldError
		if !errors.As(err, &fe) || fe.Field != "Engine" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
