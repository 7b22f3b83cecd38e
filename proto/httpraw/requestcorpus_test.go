package httpraw_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// probe follows every vector of the request corpus on its connection: a
// server that kept the connection open answers it, so whether it did says
// whether the vector left the connection usable (and where the server
// thought the vector's last message ended).
const probe = "GET /probe HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"

// shownBody is how an outcome writes a body the server delimited: quoted,
// or its length and a digest when long.
func shownBody(b []byte) string {
	if len(b) <= 48 {
		return strconv.QuoteToASCII(string(b))
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%dB#%x", len(b), sum[:3])
}

// accepted says whether a status answers a request the server took as a
// message (a page, a redirect, a missing file, a refused method), rather
// than one it refused as malformed.
func accepted(status int) bool {
	return status < 400 || status == 403 || status == 404 || status == 405 || status == 416
}

// response is one response read back from a server, with what the server
// said it framed for it (nginx: the upstream's X-Seen, the responder: its
// watch hook), when it accepted the request.
type response struct {
	status int
	method string // of the request answered, when accepted
	target string
	body   string // shownBody, or "cut" when the connection ended inside it
}

// outcome renders responses as the corpus writes them: each response's
// status, ":" and the body the server delimited when there was one, then
// "open" when the probe was answered (the connection survived the vector)
// or "close".
func outcome(resps []response, http09 bool) string {
	var b strings.Builder
	open := false
	for i, r := range resps {
		if i == len(resps)-1 && r.method == "GET" && r.target == "/probe" {
			open = true
			break
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(r.status))
		if accepted(r.status) && r.body != `""` && r.body != "" {
			b.WriteString(":" + r.body)
		}
	}
	if http09 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("0.9")
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if open {
		b.WriteString("open")
	} else {
		b.WriteString("close")
	}
	return b.String()
}

// sendRaw writes req and the probe, step bytes per write (0: one write),
// half-closes, and reads everything the server sends until it closes.
// Methods lists the methods of the responses expected, in order, so a
// response to HEAD is read without a body ("" means GET).
func sendRaw(t *testing.T, addr string, req []byte, step int) (raw []byte, local netip.AddrPort) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	local = c.LocalAddr().(*net.TCPAddr).AddrPort()
	var got bytes.Buffer
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(&got, c)
		read <- err
	}()
	all := append(append([]byte(nil), req...), probe...)
	for len(all) > 0 {
		n := len(all)
		if step > 0 {
			n = min(n, step)
		}
		if _, err := c.Write(all[:n]); err != nil {
			break // the server closed early, as it may after refusing
		}
		all = all[n:]
	}
	c.(*net.TCPConn).CloseWrite()
	if err := <-read; err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Errorf("reading the answers: %v", err)
	}
	return got.Bytes(), local
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "connection reset")
}

// parseResponses reads the responses in raw; methods[i] is the method of
// the i-th request answered ("" or past the end: GET). A server that
// answered HTTP/0.9 (a body with no status line) is reported as such.
func parseResponses(t *testing.T, raw []byte, methods []string) (resps []response, http09 bool) {
	if len(raw) > 0 && !bytes.HasPrefix(raw, []byte("HTTP/")) {
		return nil, true
	}
	rd := httpraw.NewReader(bytes.NewReader(raw))
	for i := 0; ; i++ {
		method := "GET"
		if i < len(methods) && methods[i] != "" {
			method = methods[i]
		}
		resp, err := rd.ReadResponse(method)
		if err != nil {
			if err != io.EOF && !strings.Contains(err.Error(), "closed before a response") {
				t.Errorf("response %d: %v in %q", i+1, err, raw)
			}
			return resps, false
		}
		if _, err := rd.Body(resp, io.Discard, 0); err != nil {
			t.Errorf("response %d body: %v", i+1, err)
			return resps, false
		}
		r := response{status: resp.Status}
		if seen, ok := resp.Header.Get("X-Seen"); ok {
			// The upstream behind nginx: "METHOD TARGET BODY".
			parts := strings.SplitN(seen, " ", 3)
			if len(parts) == 3 {
				r.method, r.target, r.body = parts[0], parts[1], parts[2]
			}
		}
		resps = append(resps, r)
	}
}

// upstreamStatus is the status the responder (no Root) gives a request:
// the upstream behind nginx answers with it, so that a request both
// servers accept gets the same status from both.
func upstreamStatus(method, target string) int {
	if method != "GET" && method != "HEAD" {
		return 405
	}
	if u, err := url.Parse(target); err == nil && u.IsAbs() {
		target = u.RequestURI()
	}
	raw, _, _ := strings.Cut(target, "?")
	p, err := url.PathUnescape(raw)
	if !strings.HasPrefix(raw, "/") || err != nil || strings.ContainsRune(p, 0) {
		return 400
	}
	switch path.Clean(p) {
	case "/", "/index.html", "/format.css":
		return 200
	}
	return 404
}

// nginxPeer runs nginx proxying every request to an upstream that answers
// with the responder's status and, in X-Seen, what nginx forwarded:
// method, target and body.
func nginxPeer(t *testing.T) string {
	up, _ := sockittest.ScriptedHTTP(t, nil, func(r *sockittest.HTTPRequest) string {
		status := upstreamStatus(r.Method, r.Target)
		body := "x\n"
		if r.Method == "HEAD" {
			body = ""
		}
		return fmt.Sprintf("HTTP/1.1 %d X\r\nX-Seen: %s %s %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\n%s",
			status, r.Method, r.Target, shownBody(r.Body), body)
	})
	// proxy_ignore_client_abort: the client half-closes after its last
	// byte, which nginx would otherwise take for an abort.
	return sockittest.Nginx(t, "\t\tlocation / { proxy_pass http://"+up+"; proxy_ignore_client_abort on; }")
}

// watched records what the responder framed on each connection, by peer.
type watched struct {
	mu   sync.Mutex
	seen map[netip.AddrPort][]response
}

func (w *watched) hook(peer netip.AddrPort, method, target string, status int, body []byte, whole bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[netip.AddrPort][]response{}
	}
	s := w.seen[peer]
	if whole && len(s) > 0 && s[len(s)-1].body == "cut" {
		s[len(s)-1].body = shownBody(body) // the body of the request answered last
		return
	}
	// Answered; "cut" until its body has been read.
	w.seen[peer] = append(s, response{status: status, method: method, target: target, body: "cut"})
}

func (w *watched) take(peer netip.AddrPort) []response {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen[peer]
	delete(w.seen, peer)
	return s
}

// TestRequestCorpusAgainstNginx sends every raw request of the corpus
// (sockittest.HTTPRequestVectors) to the real nginx and to the responder on
// every engine, whole and one byte per write, each followed by a probe
// request, and compares what came back: the statuses, whether the probe
// was answered, and for each request the server accepted the method,
// target and body it delimited. A vector's Sockit column is what the
// responder does where it differs from nginx, and Why gives the RFC's
// reason; a responder that frames a message or a body differently from
// nginx fails whatever the table says.
func TestRequestCorpusAgainstNginx(t *testing.T) {
	nginx := nginxPeer(t)
	var w watched
	responders := map[string]string{}
	for _, engine := range server.Engines() {
		r := &httpraw.Responder{}
		httpraw.WatchRequests(r, w.hook)
		responders[engine] = serveOn(t, engine, r)
	}
	for _, v := range sockittest.HTTPRequestVectors {
		if (v.Sockit == "") != (v.Why == "") || v.Sockit == v.Nginx {
			t.Errorf("%s: a Sockit column needs its Why, and differs from Nginx", v.Name)
		}
		want := v.Sockit
		if want == "" {
			want = v.Nginx
		}
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			for _, step := range []int{0, 1} {
				if step == 1 && len(v.Request) > 20000 {
					step = 997 // a byte per write would take minutes
				}
				mode := "whole"
				if step > 0 {
					mode = "byte-at-a-time"
				}
				raw, _ := sendRaw(t, nginx, []byte(v.Request), step)
				nresps, n09 := parseResponses(t, raw, v.Methods)
				if got := outcome(nresps, n09); got != v.Nginx {
					t.Errorf("nginx %s: %s, the table says %s", mode, got, v.Nginx)
				}
				for _, engine := range server.Engines() {
					raw, local := sendRaw(t, responders[engine], []byte(v.Request), step)
					resps, r09 := parseResponses(t, raw, v.Methods)
					seen := w.take(local)
					for i := range resps {
						if i < len(seen) {
							if seen[i].status != resps[i].status {
								t.Errorf("%s %s: the hook saw status %d for response %d, the client %d", engine, mode, seen[i].status, i+1, resps[i].status)
							}
							resps[i].method, resps[i].target, resps[i].body = seen[i].method, seen[i].target, seen[i].body
						} else if accepted(resps[i].status) {
							t.Errorf("%s %s: response %d (%d) answers no request the responder framed", engine, mode, i+1, resps[i].status)
						}
					}
					if got := outcome(resps, r09); got != want {
						t.Errorf("responder (%s engine) %s: %s, the table says %s", engine, mode, got, want)
					}
					if msg := smuggled(nresps, resps); msg != "" {
						t.Errorf("responder (%s engine) %s framed a message unlike nginx: %s", engine, mode, msg)
					}
				}
			}
		})
	}
}

// smuggled compares the messages both servers accepted, in order: the
// responder may stop earlier (refusing and closing where nginx goes on),
// but every message it accepted must be one nginx accepted at the same
// place, with the same method, target path and body.
func smuggled(nginx, sockit []response) string {
	for i, r := range sockit {
		if !accepted(r.status) || r.target == "/probe" && i == len(sockit)-1 {
			continue
		}
		if r.body == "cut" && i == len(sockit)-1 {
			// Answered at its head, then the connection ended inside the
			// body: the responder delimited nothing more.
			continue
		}
		if i >= len(nginx) || !accepted(nginx[i].status) {
			return fmt.Sprintf("message %d (%s %s) accepted, nginx did not", i+1, r.method, r.target)
		}
		n := nginx[i]
		if r.method != n.method || pathOf(r.target) != pathOf(n.target) || r.body != n.body && r.body != "cut" {
			return fmt.Sprintf("message %d: %s %s body %s, nginx %s %s body %s", i+1, r.method, r.target, r.body, n.method, n.target, n.body)
		}
	}
	return ""
}

// pathOf is a target's path: the absolute form's host is not the
// message's business here (nginx forwards the path alone).
func pathOf(target string) string {
	if u, err := url.Parse(target); err == nil && u.IsAbs() {
		return u.RequestURI()
	}
	return target
}
