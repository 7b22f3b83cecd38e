package httpraw_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/sockit/sockit/proto/httpraw"
)

// serveOnce answers one request on ln with response, and sends the
// request's Authorization field (or "none") on seen.
func serveOnce(ln net.Listener, response string, seen chan<- string) {
	c, err := ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	auth := "none"
	for br := bufio.NewReader(c); ; {
		l, err := br.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(l, "Authorization: "); ok {
			auth = strings.TrimSpace(v)
		}
	}
	io.WriteString(c, response)
	seen <- auth
}

// A redirect to another origin (here another port) does not carry the
// credentials; curl's --location-trusted would be FollowRedirects(50, true).
func ExampleFollowRedirects() {
	other, _ := net.Listen("tcp", "127.0.0.1:0")
	first, _ := net.Listen("tcp", "127.0.0.1:0")
	defer other.Close()
	defer first.Close()
	seen := make(chan string, 2)
	go serveOnce(first, "HTTP/1.1 302 Found\r\nLocation: http://"+other.Addr().String()+"/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", seen)
	go serveOnce(other, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", seen)

	c := &httpraw.Client{CheckRedirect: httpraw.FollowRedirects(50, false)}
	defer c.Close()
	u, _ := httpraw.ParseURL("http://" + first.Addr().String() + "/")
	req := &httpraw.Request{Method: "GET", URL: u, Header: []httpraw.Field{{Name: "Authorization", Value: "Bearer secret"}}}
	var body strings.Builder
	ex, err := c.Do(context.Background(), req, &body, nil, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("first origin saw:", <-seen)
	fmt.Println("other origin saw:", <-seen)
	fmt.Println(ex.Response.Status, body.String(), "after", ex.Redirects, "redirect")
	// Output:
	// first origin saw: Bearer secret
	// other origin saw: none
	// 200 hello after 1 redirect
}
