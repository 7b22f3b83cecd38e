package bench_test

import (
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/sockittest"
)

// TestHTMLRendersInChromium renders a report in headless Chromium, with
// the network switched off, and checks the picture: the latency curve's
// blue and the throughput bars' green must both be on it.
func TestHTMLRendersInChromium(t *testing.T) {
	chromium := sockittest.RequireTool(t, "chromium")
	addr := serve(t, echo.Service(), "tcp")
	r := run(t, bench.Config{Target: "tcp://" + addr, Requests: 2000, Concurrency: 2, KeepAlive: true})
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	shot := filepath.Join(dir, "shot.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=800,1000",
		"--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	pf, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatal(err)
	}
	var blue, green int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case near(r, 0x15) && near(g, 0x65) && near(bl, 0xc0):
				blue++
			case near(r, 0x2e) && near(g, 0x7d) && near(bl, 0x32):
				green++
			}
		}
	}
	if blue < 300 || green < 1000 {
		t.Errorf("rendered report has %d curve pixels and %d bar pixels; the charts did not draw", blue, green)
	}
}

func near(a, b uint32) bool { return a+24 > b && b+24 > a }
