package sockittest

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// HTTPRequest is one request a ScriptedHTTP server received.
type HTTPRequest struct {
	Method, Target, Proto string
	// Head is the request head as received, request line included.
	Head string
	Body []byte
	// Local is the server's address the request came in on.
	Local string
}

// Get returns the value of the first field called name (any case), and
// whether there is one.
func (r *HTTPRequest) Get(name string) (string, bool) {
	for _, l := range strings.Split(r.Head, "\r\n")[1:] {
		n, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(n, name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// ScriptedHTTP listens on 127.0.0.1:0 (TLS when cfg is not nil) and answers
// each request with the bytes answer returns for it, written as they are.
// A connection is kept for the next request unless the answer holds
// "Connection: close". Request bodies are read by Content-Length only. It
// returns the address and a function listing the requests so far; the
// server stops with the test.
func ScriptedHTTP(t testing.TB, cfg *tls.Config, answer func(*HTTPRequest) string) (addr string, requests func() []*HTTPRequest) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	var (
		mu    sync.Mutex
		got   []*HTTPRequest
		conns = map[net.Conn]bool{}
		shut  bool
		wg    sync.WaitGroup
	)
	serve := func(c net.Conn) {
		defer wg.Done()
		defer func() { mu.Lock(); delete(conns, c); mu.Unlock(); c.Close() }()
		br := bufio.NewReader(c)
		for {
			var head strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(l)
				if l == "\r\n" || l == "\n" {
					break
				}
			}
			h := strings.TrimRight(head.String(), "\r\n")
			req := &HTTPRequest{Head: h, Local: c.LocalAddr().String()}
			parts := strings.SplitN(strings.SplitN(h, "\r\n", 2)[0], " ", 3)
			if len(parts) == 3 {
				req.Method, req.Target, req.Proto = parts[0], parts[1], parts[2]
			}
			if cl, ok := req.Get("Content-Length"); ok {
				n, err := strconv.Atoi(cl)
				if err != nil || n < 0 || n > 1<<20 {
					return
				}
				req.Body = make([]byte, n)
				if _, err := io.ReadFull(br, req.Body); err != nil {
					return
				}
			}
			mu.Lock()
			got = append(got, req)
			mu.Unlock()
			resp := answer(req)
			if _, err := io.WriteString(c, resp); err != nil || strings.Contains(resp, "Connection: close") {
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if shut {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = true
			wg.Add(1)
			mu.Unlock()
			go serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		shut = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), func() []*HTTPRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]*HTTPRequest(nil), got...)
	}
}
