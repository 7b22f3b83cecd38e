package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMessageRealErrors words errors made by real sockets and Go's
// packages, never by hand-written strings, so a change in Go's text that
// the wording relied on fails here.
func TestMessageRealErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	_, dialErr := net.Dial("tcp", refused)

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	_, inUse := net.Listen("tcp", ln2.Addr().String())
	c, err := net.Dial("tcp", ln2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, timeout := c.Read(make([]byte, 1))

	_, numErr := strconv.Atoi("x")
	_, rangeErr := strconv.ParseUint("99999999999999999999", 10, 64)
	_, urlErr := url.Parse("http://a b/")
	_, pathErr := os.Open("/nonexistent/file")

	for _, tc := range []struct {
		err  error
		want string
	}{
		{dialErr, "connect to " + refused + " (tcp): connection refused"},
		{fmt.Errorf("http://%s/: %w", refused, dialErr), "http://" + refused + "/: connect to " + refused + " (tcp): connection refused"},
		{inUse, "listen on " + ln2.Addr().String() + " (tcp): address already in use"},
		{timeout, "read from " + ln2.Addr().String() + " (tcp): timed out"},
		{fmt.Errorf("reading the reply: %w", io.EOF), "reading the reply: connection closed by the peer"},
		{io.ErrUnexpectedEOF, "connection closed early"},
		{context.DeadlineExceeded, "timed out"},
		{fmt.Errorf("--bytes: %w", numErr), "--bytes: not a number"},
		{rangeErr, "out of range"},
		{urlErr, `invalid character " " in host name`},
		{pathErr, "/nonexistent/file: no such file or directory"},
		{errors.New("httpraw: body too large"), "body too large"},
		{&net.OpError{Op: "route", Net: "ip+net", Err: errors.New("no such network interface")}, "no such network interface"},
		{&net.DNSError{Err: "no such host", Name: "a.test", IsNotFound: true}, "could not resolve a.test: no such host"},
		{errors.Join(errors.New("sockit: first"), io.EOF), "first\nconnection closed by the peer"},
	} {
		if got := Message(tc.err); got != tc.want {
			t.Errorf("Message(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestOutputKeepsFirstError: a full device fails the write, every later
// write returns that same error without writing, and Err reports it, worded.
func TestOutputKeepsFirstError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer full.Close()
	o := NewOutput(full, "stdout")
	if o.Err() != nil {
		t.Fatal("Err before any write")
	}
	_, err1 := o.Write([]byte("hello"))
	_, err2 := fmt.Fprintf(o, "again")
	var we *WriteError
	if !errors.As(err1, &we) || err2 != err1 || o.Err() != err1 || !errors.Is(err1, syscall.ENOSPC) {
		t.Fatalf("errors %v, %v, Err %v", err1, err2, o.Err())
	}
	if got := Message(fmt.Errorf("writeto tcp: %w", err1)); got != "write to stdout: no space left on device" {
		t.Errorf("Message = %q", got)
	}
	var sb strings.Builder
	ok := NewOutput(&sb, "stdout")
	if _, err := io.WriteString(ok, "fine"); err != nil || ok.Err() != nil || sb.String() != "fine" {
		t.Errorf("a working output: %v %v %q", err, ok.Err(), sb.String())
	}
}
