package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// TestServeHTTPStatusMetrics: serve --metrics counts the responder's
// answers by status code over real sockets: 200s on one keep-alive
// connection, 404s, a 400 (no Host) and a 505 (HTTP/2.0 on a text request
// line), each in sockit_http_responses_total{service,code} when scraped.
func TestServeHTTPStatusMetrics(t *testing.T) {
	addrs, _ := startServe(t, "--metrics", "127.0.0.1:0", "http=tcp://127.0.0.1:0", "echo=tcp://127.0.0.1:0")
	exchange := func(reqs string, n int) []int {
		t.Helper()
		c, err := net.Dial("tcp", addrs["http tcp"])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, reqs); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		var codes []int
		for range n {
			resp, err := sockittest.ReadHTTPResponse(br)
			if err != nil {
				t.Fatalf("%q: %v", reqs, err)
			}
			codes = append(codes, resp.Status)
		}
		return codes
	}
	want := map[int]int{200: 3, 404: 2, 400: 1, 505: 1}
	got := map[int]int{}
	for _, x := range []struct {
		reqs string
		n    int
	}{
		{strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3), 3},
		{"GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /nope/either HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2},
		{"GET / HTTP/1.1\r\n\r\n", 1},
		{"GET / HTTP/2.0\r\n\r\n", 1},
	} {
		for _, code := range exchange(x.reqs, x.n) {
			got[code]++
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("answered %v, want %v", got, want)
	}
	resp, err := http.Get("http://" + addrs["metrics"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for code, n := range want {
		line := fmt.Sprintf(`sockit_http_responses_total{code="%d",service="http"} %d`, code, n)
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("metrics lack %s", line)
		}
	}
	if strings.Count(string(body), "sockit_http_responses_total{") != len(want) {
		t.Errorf("other status series than %v:\n%s", want, grepLines(string(body), "sockit_http_responses_total"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
