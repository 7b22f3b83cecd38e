package qotd

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/server"
)

// Port is the well-known port (RFC 865).
const Port = 17

// MaxLen is the bound on a quote, CRLF included: RFC 865 says less than 512.
const MaxLen = 511

//go:embed quotes.txt
var embedded string

// Default returns the embedded collection of public-domain quotes.
func Default() []string { return defaultQuotes() }

var defaultQuotes = sync.OnceValue(func() []string {
	q, err := Parse(strings.NewReader(embedded))
	if err != nil {
		panic("qotd: embedded quotes: " + err.Error())
	}
	return q
})

// Parse reads quotes in fortune format: quotes separated by lines holding
// only "%". Each quote is trimmed of surrounding blank lines and stored with
// CRLF line ends; an empty quote is skipped, one that is too long or not
// printable ASCII is an error naming its number and first line.
func Parse(r io.Reader) ([]string, error) {
	var (
		quotes []string
		cur    []string
		lineNo int
		start  = 1
	)
	flush := func() error {
		for len(cur) > 0 && strings.TrimSpace(cur[len(cur)-1]) == "" {
			cur = cur[:len(cur)-1]
		}
		for len(cur) > 0 && strings.TrimSpace(cur[0]) == "" {
			cur = cur[1:]
		}
		if len(cur) == 0 {
			return nil
		}
		q := strings.Join(cur, "\r\n") + "\r\n"
		if len(q) > MaxLen {
			return fmt.Errorf("quote at line %d is %d bytes; RFC 865 allows fewer than 512", start, len(q))
		}
		for _, c := range []byte(q) {
			if (c < ' ' || c > '~') && c != '\r' && c != '\n' && c != '\t' {
				return fmt.Errorf("quote at line %d has byte %#x; RFC 865 asks for printable ASCII", start, c)
			}
		}
		quotes = append(quotes, q)
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "%" {
			if err := flush(); err != nil {
				return nil, err
			}
			start = lineNo + 1
			continue
		}
		cur = append(cur, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(quotes) == 0 {
		return nil, fmt.Errorf("no quotes found")
	}
	return quotes, nil
}

// Service returns qotd serving quotes, one picked at random per
// connection or datagram (nil or none: the embedded ones).
func Service(quotes []string) server.Service {
	if len(quotes) == 0 {
		quotes = Default()
	}
	h := server.GreetingFunc(func(buf []byte) []byte { return append(buf, quotes[rand.IntN(len(quotes))]...) })
	return server.Service{Name: "qotd", Stream: h, Packet: h}
}

// Get asks the QOTD service at e for a quote: one empty datagram (resent per
// q) over UDP, as the brief does, or a connection read to its close over a
// stream. A reply longer than RFC 865 allows is returned with an error.
func Get(ctx context.Context, d *sockit.Dialer, e sockit.Endpoint, q *sockit.Query) ([]byte, int, error) {
	c, err := d.Dial(ctx, e)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	var got []byte
	attempts := 1
	if e.IsPacket() {
		got, attempts, err = q.Exchange(ctx, c, nil, make([]byte, server.MaxDatagram))
		got = bytes.Clone(got)
	} else {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		got, err = sockit.ReadAll(c, 64<<10)
	}
	if err == nil && len(bytes.TrimSpace(got)) == 0 {
		err = errors.New("qotd: empty reply (RFC 865 sends a quote)")
	}
	if err == nil && len(got) > MaxLen {
		err = fmt.Errorf("qotd: quote of %d bytes; RFC 865 allows fewer than 512", len(got))
	}
	return got, attempts, err
}
