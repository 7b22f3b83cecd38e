package transfer

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit/internal/cli"
	"github.com/sockit/sockit/proto/httpraw"
)

// info is one transfer as -w and -v report it.
type info struct {
	raw   string
	ex    *httpraw.Exchange
	total time.Duration
	err   error
	code  int // the exit status err stands for
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// times are curl's cumulative phase times (-w's time_*): each from the
// start of the transfer to the end of its phase, so each is at least the
// one before.
type times struct{ namelookup, connect, appconnect, pretransfer, starttransfer time.Duration }

func timesOf(t httpraw.Timings) times {
	var ts times
	ts.namelookup = t.Resolve
	ts.connect = ts.namelookup + t.Connect
	ts.pretransfer = ts.connect + t.TLS
	if t.TLS > 0 {
		ts.appconnect = ts.pretransfer
	}
	if t.FirstByte > 0 {
		ts.starttransfer = ts.pretransfer + t.FirstByte
	}
	return ts
}

// variable returns curl's --write-out variable name.
func (ti *info) variable(name string) (string, bool) {
	ex := ti.ex
	var t httpraw.Timings
	var resp *httpraw.Response
	var req *httpraw.Request
	if ex != nil {
		t, resp, req = ex.Timings, ex.Response, ex.Request
	}
	ts := timesOf(t)
	switch name {
	case "http_code", "response_code":
		if resp == nil {
			return "000", true
		}
		return fmt.Sprintf("%03d", resp.Status), true
	case "time_namelookup":
		return secs(ts.namelookup), true
	case "time_connect":
		return secs(ts.connect), true
	case "time_appconnect":
		return secs(ts.appconnect), true
	case "time_pretransfer":
		return secs(ts.pretransfer), true
	case "time_starttransfer":
		return secs(ts.starttransfer), true
	case "time_total":
		return secs(ti.total), true
	case "size_download":
		if ex == nil {
			return "0", true
		}
		return strconv.FormatInt(ex.BodySize, 10), true
	case "size_upload":
		if ex == nil || ex.RequestSize == 0 || req == nil {
			return "0", true
		}
		return strconv.Itoa(len(req.Body)), true
	case "size_request":
		if ex == nil {
			return "0", true
		}
		return strconv.FormatInt(ex.RequestSize, 10), true
	case "size_header":
		if resp == nil {
			return "0", true
		}
		return strconv.Itoa(len(resp.Head)), true
	case "num_redirects":
		if ex == nil {
			return "0", true
		}
		return strconv.Itoa(ex.Redirects), true
	case "url_effective":
		if req != nil {
			return req.URL.String(), true
		}
		return ti.raw, true
	case "url":
		return ti.raw, true
	case "remote_ip", "remote_port":
		if ex == nil || ex.Addr == nil {
			if name == "remote_port" {
				return "0", true // as curl's, with no connection
			}
			return "", true
		}
		host, port, err := net.SplitHostPort(ex.Addr.String())
		if err != nil {
			return "", true
		}
		if name == "remote_ip" {
			return host, true
		}
		return port, true
	case "content_type":
		if resp == nil {
			return "", true
		}
		v, _ := resp.Header.Get("Content-Type")
		return v, true
	case "method":
		if req != nil {
			return req.Method, true
		}
		return "", true
	case "scheme":
		if req != nil && ex.Addr != nil {
			return strings.ToUpper(req.URL.Scheme), true
		}
		return "", true
	case "http_version":
		if resp == nil {
			return "0", true
		}
		return strings.TrimPrefix(resp.Proto, "HTTP/"), true
	case "exitcode":
		return strconv.Itoa(ti.code), true
	case "errormsg":
		if ti.err == nil {
			return "", true
		}
		return cli.Message(ti.err), true
	}
	return "", false
}

// writeOut prints format as curl's -w does: %{variable}, %% and the
// escapes \n \r \t \\; an unknown variable prints nothing and a warning.
func writeOut(w, warn io.Writer, prefix, format string, ti *info) error {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '%' && i+1 < len(format) && format[i+1] == '%':
			b.WriteByte('%')
			i++
		case c == '%' && strings.HasPrefix(format[i+1:], "{"):
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				b.WriteString(format[i:])
				i = len(format)
				continue
			}
			name := format[i+2 : i+end]
			if v, ok := ti.variable(name); ok {
				b.WriteString(v)
			} else {
				fmt.Fprintf(warn, "%s: warning: unknown --write-out variable %q\n", prefix, name)
			}
			i += end
		case c == '\\' && i+1 < len(format):
			switch format[i+1] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '\\':
				b.WriteByte('\\')
			default:
				b.WriteByte(c)
				continue
			}
			i++
		default:
			b.WriteByte(c)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
