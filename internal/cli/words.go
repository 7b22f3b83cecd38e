package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Message words err for a user, as nc and curl word theirs: a socket
// operation says its phase, its address and its network ("connect to
// 127.0.0.1:7 (tcp): connection refused", nc's form, for Go's "dial tcp
// 127.0.0.1:7: connect: connection refused"), a timeout says "timed out",
// a peer that closed says so ("connection closed by the peer" for Go's
// "EOF"), and no Go package names itself ("strconv.ParseInt: parsing …",
// "x509: …", "httpraw: …"). The command's own prefix, "sockit CMD: ", is
// the caller's.
//
// The wording is found by type, never by matching Go's text: err is walked
// down its chain of wrapped errors, each error of a kind in the table below
// is worded afresh, and a wrapper that quotes the error it wraps (fmt.Errorf
// with %w) keeps its own words with its inner error's words in place of
// the inner text. A new kind of error (TLS alerts, HTTP/2 codes) is one more
// case in word.
func Message(err error) string {
	if err == nil {
		return ""
	}
	if s, ok := word(err); ok {
		return s
	}
	text := err.Error()
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			return reword(text, inner)
		}
	case interface{ Unwrap() []error }:
		for _, inner := range u.Unwrap() {
			if inner != nil {
				text = reword(text, inner)
			}
		}
		return text
	}
	return bare(text)
}

// reword puts inner's words where text quotes inner's own text (the last
// time it does: "%s: %w" ends with it); a text that does not quote it is
// the wrapper's own, and is kept.
func reword(text string, inner error) string {
	it := inner.Error()
	i := strings.LastIndex(text, it)
	if it == "" || i < 0 {
		return text
	}
	return text[:i] + Message(inner) + text[i+len(it):]
}

// ownPrefixes are the package names that Go's convention puts at the start
// of an error's text ("httpraw: …"), sockit's and the standard library's:
// the command's prefix says where a message comes from.
var ownPrefixes = []string{"sockit: ", "httpraw: ", "resolve: ", "netcat: ", "proto: ", "echo: ", "discard: ",
	"chargen: ", "qotd: ", "daytime: ", "time: ", "bench: ", "packet: ", "tls: ", "x509: ", "net/url: ", "net/http: "}

// bare drops the package names from the start of a leaf error's text (one
// that wraps none); a wrapper's own words ("echo: listen on …", the
// service that failed) are its context, and kept.
func bare(text string) string {
	for again := true; again; {
		again = false
		for _, p := range ownPrefixes {
			if strings.HasPrefix(text, p) {
				text, again = text[len(p):], true
			}
		}
	}
	return text
}

// opVerbs are nc's words for net.OpError's operations. A conn's ReadFrom(r)
// moves r's bytes to the peer and its WriteTo(w) the peer's bytes to w: a
// write and a read.
var opVerbs = map[string]string{
	"dial": "connect to", "listen": "listen on", "accept": "accept on",
	"read": "read from", "write": "write to", "readfrom": "write to", "writeto": "read from",
	"close": "close",
}

// word words err afresh when it is of a kind this table knows (and only
// then returns true): the one place every wording lives.
func word(err error) (string, bool) {
	var we *WriteError
	if errors.As(err, &we) {
		// A write to the output failed: whatever wrapped it (a relay's
		// "writeto tcp …", a transfer's URL) was its consequence.
		return we.Error(), true
	}
	switch e := err.(type) {
	case *net.OpError:
		if e.Op == "remote error" {
			// crypto/tls's form of an alert the peer sent ("remote
			// error: tls: bad certificate"): the peer refused.
			return "TLS alert from the peer: " + bare(e.Err.Error()), true
		}
		var inner *net.OpError
		if e.Addr == nil || errors.As(e.Err, &inner) {
			// "dial tcp: lookup NAME: …" (the lookup says it), "route
			// ip+net: …", and "writeto tcp A->B: read tcp A->B: …" (the
			// inner one says it).
			return Message(e.Err), true
		}
		verb, ok := opVerbs[e.Op]
		if !ok {
			verb = e.Op
		}
		return verb + " " + e.Addr.String() + " (" + e.Net + "): " + Message(e.Err), true
	case *os.SyscallError:
		return Message(e.Err), true // "connect: connection refused": the operation names the call
	case *net.DNSError:
		why := e.Err
		switch {
		case e.IsNotFound:
			why = "no such host"
		case e.IsTimeout:
			why = "timed out"
		}
		return "could not resolve " + e.Name + ": " + why, true
	case *url.Error:
		return Message(e.Err), true // `parse "URL": …`: the caller names the URL
	case *strconv.NumError:
		if errors.Is(e.Err, strconv.ErrRange) {
			return "out of range", true
		}
		return "not a number", true
	case *os.PathError:
		switch e.Op {
		case "open", "stat", "lstat", "read":
			return e.Path + ": " + Message(e.Err), true // cat's form
		}
		return e.Op + " " + e.Path + ": " + Message(e.Err), true
	case *tls.CertificateVerificationError:
		return "certificate not trusted: " + Message(e.Err), true
	case x509.UnknownAuthorityError:
		return "signed by an unknown authority", true
	}
	switch err {
	case io.EOF:
		return "connection closed by the peer", true
	case io.ErrUnexpectedEOF:
		return "connection closed early", true
	case os.ErrDeadlineExceeded, context.DeadlineExceeded:
		return "timed out", true
	case context.Canceled:
		return "canceled", true
	case net.ErrClosed:
		return "connection closed", true
	}
	if te, ok := err.(interface{ Timeout() bool }); ok && te.Timeout() && errors.Unwrap(err) == nil {
		return "timed out", true // net's own "i/o timeout" (a dial's), not os.ErrDeadlineExceeded
	}
	return "", false
}
