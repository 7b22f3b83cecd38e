package server

import (
	"crypto/tls"
	"errors"
	"net/netip"
	"os"
	"time"
)

// StreamHandler starts a Session for each accepted stream connection.
type StreamHandler interface {
	// Open returns the new connection's session. remote is the peer's
	// address and port (the zero AddrPort on a unix socket); it is a value,
	// so accepting allocates nothing for it. A stateless service may return
	// the same Session (for instance a zero-sized value) for every
	// connection: then a connection costs it no allocation at all.
	Open(remote netip.AddrPort) Session
}

// ClientFirst is a StreamHandler whose peers speak first and at once (an
// HTTP client sends its request as soon as it connects), so a connection
// that has sent nothing needs no attention yet. On the loop engine a TCP
// listener of such a handler accepts a connection only once its first
// bytes have arrived (TCP_DEFER_ACCEPT with one second, as nginx's listen
// ... deferred: a peer that sends nothing is accepted about a second late
// all the same), and the loop reads them at once, so a connection per
// request is accepted, read, answered and closed without ever joining the
// epoll set. Services that speak first (daytime, qotd, time, chargen) or
// whose peers may connect and wait to read (echo, discard) must not
// implement it. The goroutine engine ignores it.
type ClientFirst interface {
	StreamHandler
	// ClientFirst marks the handler; it is never called.
	ClientFirst()
}

// Session is one stream connection's protocol state. The runtime calls it
// from one goroutine at a time. Returned slices may alias the input or a
// buffer the session owns; they are used before the next call.
type Session interface {
	// Greet returns what to send as soon as the connection opens (nil for
	// nothing), appended to buf, and whether to close once it is sent.
	Greet(buf []byte) (out []byte, closeAfter bool)
	// Receive takes bytes from the peer and returns the reply (nil for
	// none), which may alias in or be appended to buf (a pooled buffer the
	// runtime lends for this call), and whether to close once it is sent.
	// Neither in nor buf may be kept after the call returns.
	Receive(in, buf []byte) (out []byte, closeAfter bool)
}

// Streamer is a Session that also sends unsolicited output for as long as
// the peer takes it (chargen). The runtime calls Stream whenever the last
// output has been written; input is read and dropped meanwhile.
type Streamer interface {
	Session
	// Stream appends the next piece of output to buf.
	Stream(buf []byte) []byte
}

// Idler is a Session that can tell when it is between exchanges, so that
// Shutdown closes its connection at once instead of granting it the grace
// period: an HTTP keep-alive connection between requests is idle, one with
// a request half received or a response being written is not. A Session
// without these methods is never idle (echo, discard and chargen are
// streams: any moment may be mid-transfer), and gets the grace.
//
// The runtime calls both from the session's own goroutine or loop, like
// Receive. It also checks its own side: a connection is idle only when the
// session says so, all output has been written and no input waits.
type Idler interface {
	Session
	// Idle reports whether the session is between exchanges: every request
	// received has been answered in full and none is partly received.
	Idle() bool
	// Drain is called once, when the server begins shutting down and the
	// connection is not idle: the exchange in progress should be the last
	// (HTTP answers it with Connection: close, then closes). The runtime
	// closes the connection as soon as Idle reports true.
	Drain()
}

// FileSender is a Session whose reply can end with a range of a file,
// which the runtime sends from the page cache (sendfile(2)) instead of
// through the session's buffers: a large file costs neither its size in
// memory nor a read on the loop thread that stalls other connections.
//
// After every Receive (and Resume) the runtime calls TakeFile. If it returns
// a file, the runtime sends the output it was given first, then n bytes of
// f from off, pacing them by the peer like any output; meanwhile it reads
// no input (the session holds back whatever it already has). Then it calls
// Resume exactly once, also when the connection ends first (err non-nil),
// so the session can close f. The runtime may move f's offset: give it a
// descriptor of its own (not one shared with other connections).
type FileSender interface {
	Session
	// TakeFile returns the file range that follows the output just returned
	// (f nil for none).
	TakeFile() (f *os.File, off, n int64)
	// Resume ends the file body: err is nil when all n bytes were sent.
	// It answers what the session held back, as Receive does (out appended
	// to buf, and whether to close once it is sent); when err is non-nil
	// its output is ignored.
	Resume(buf []byte, err error) (out []byte, closeAfter bool)
}

// errConnEnded is what a session's Resume hears when its connection ended
// before the file body was sent.
var errConnEnded = errors.New("server: connection ended")

// endFile tells fs that its connection ended: a file body under way
// (taken), or one its last reply asked for but never handed over (the
// reply's write failed first), ends with Resume(errConnEnded), so the
// session closes its file.
func endFile(fs FileSender, taken bool) {
	if !taken {
		if f, _, _ := fs.TakeFile(); f == nil {
			return
		}
	}
	fs.Resume(nil, errConnEnded)
}

// Producer is a Session that can have more output ready than one call
// returned, or output that no input prompts: HTTP/2 sends a file body in
// DATA frames as the peer's flow-control window opens, a piece at a time,
// and its GOAWAY when told to drain. The runtime calls More after every
// Receive, Resume and Drain once the output so far has been written, and
// again each time the kernel has taken it all, until More returns nothing.
// Between pieces it goes on reading (and calling Receive) only while all
// output has been written, so a peer that does not read still holds back
// its own input.
type Producer interface {
	Session
	// More appends the next piece of output to buf (nil when nothing is
	// ready until more input comes), and whether to close once it is sent.
	More(buf []byte) (out []byte, closeAfter bool)
}

// Ender is a Session that holds something across calls (HTTP/2 keeps the
// files of streams waiting for the peer's window open), or that ends
// connections whose peer abuses the protocol. The runtime calls End exactly
// once, when the connection has closed, whoever closed it.
type Ender interface {
	Session
	// End releases what the session holds. It returns why the session
	// ended the connection when the peer was to blame (an HTTP/2 flood:
	// rapid resets, CONTINUATION or control-frame floods), "" otherwise;
	// the runtime counts that reason as a drop (Recorder.Dropped) and logs
	// it in the drop log, as it does its own timeouts.
	End() (dropReason string)
}

// Lingerer is a Session that says how its connection closes once the
// output is sent. By default (LingerIfWaiting) the runtime closes at once
// unless input is waiting, and then shuts the connection for writing and
// reads and drops input until the peer closes or a second passes: closing
// a socket with input unread sends a reset, which can destroy output the
// peer has not read yet. An HTTP/1.1 request per connection costs no wait.
type Lingerer interface {
	Session
	// Linger is asked when the connection is to close after its output.
	Linger() Linger
}

// lingerSilence is how long a LingerAlways close waits for the peer's
// next bytes or FIN: nginx's lingering_timeout (5 s); its lingering_time
// (30 s) is the server's write timeout here.
const lingerSilence = 5 * time.Second

// Linger is how a connection closes after its last output.
type Linger uint8

const (
	// LingerIfWaiting lingers only when input is waiting (the default).
	LingerIfWaiting Linger = iota
	// LingerAlways waits for the peer's FIN, while the peer keeps sending,
	// up to 5 s of silence and the write timeout in all: HTTP/2 clients
	// send WINDOW_UPDATE and PING frames as they read, so more are on the
	// way after the last frame.
	LingerAlways
	// LingerNever closes at once, input waiting or not: a peer cut off for
	// a flood is not read for another second.
	LingerNever
)

// PacketHandler answers datagrams. It is called concurrently.
type PacketHandler interface {
	// Reply returns the answer to in (nil for none), which may alias in or
	// be appended to buf (capacity MaxDatagram).
	Reply(in, buf []byte) []byte
}

// MaxDatagram is the largest datagram the runtime reads or sends.
const MaxDatagram = 65507

// Service is a named protocol with its stream and datagram sides; either
// may be nil when the protocol lacks it.
type Service struct {
	Name   string
	Stream StreamHandler
	Packet PacketHandler
	// TLS, if set, serves the stream side over TLS with this
	// configuration (package tlsconfig has sockit's defaults): the
	// protocol's sessions see the plaintext, as over TCP, and start once
	// the handshake is done. When the configuration names no ALPN
	// protocols, a TLSHandler's NextProtos are offered. The datagram side
	// is unaffected (no DTLS).
	TLS *tls.Config
}

// TLSHandler is a StreamHandler that wants to know about the TLS under its
// connections (Service.TLS): which application protocol ALPN chose, which
// host the client named, that the scheme is https.
type TLSHandler interface {
	StreamHandler
	// NextProtos lists the protocols (RFC 7301) the handler speaks, most
	// preferred first ("h2", "http/1.1"); the TLS layer offers them when
	// Service.TLS names none.
	NextProtos() []string
	// OpenTLS is called instead of Open for a connection over TLS, once
	// its handshake is done; state (NegotiatedProtocol, ServerName,
	// Version, DidResume...) is valid during the call only.
	OpenTLS(remote netip.AddrPort, state *tls.ConnectionState) Session
}
