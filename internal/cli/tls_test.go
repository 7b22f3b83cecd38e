package cli

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/tlsconfig"
)

// TestMessageTLSErrors words the errors of a real handshake that the
// client refuses: the client's own (the certificate is not trusted) and
// the server's (the alert the client sent).
func TestMessageTLSErrors(t *testing.T) {
	cert, err := tlsconfig.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		srvErr <- tls.Server(c, tlsconfig.Server(tlsconfig.Static(&cert))).Handshake()
	}()
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	cliErr := tls.Client(conn, &tls.Config{ServerName: "localhost"}).Handshake()
	conn.Close()
	if got := Message(cliErr); !strings.HasPrefix(got, "certificate not trusted: ") {
		t.Errorf("client: Message(%q) = %q", cliErr, got)
	}
	if err := <-srvErr; Message(err) != "TLS alert from the peer: bad certificate" {
		t.Errorf("server: Message(%q) = %q", err, Message(err))
	}
}
