package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/resolve"
)

func (a *app) resolveCommand() *cobra.Command {
	var (
		r           resolve.Resolver
		v4, v6      bool
		reverse     bool
		asJSON      bool
		file        string
		concurrency int
	)
	cmd := &cobra.Command{
		Use:   "resolve [flags] NAME...",
		Short: "Look up the addresses of host names (the brief's gethostbyname)",
		Long: `resolve prints every address of each NAME, IPv4 and IPv6, as getaddrinfo
does: /etc/hosts first, then DNS. With one NAME it prints one address per line;
with several, each line is "NAME ADDR". A name that does not resolve is
reported on stderr, the others are still printed, and the exit status is 1.`,
		Example: `  sockit resolve localhost
  sockit resolve -4 localhost example.internal
  sockit resolve --server 127.0.0.1:5353 www.example.com
  sockit resolve -x 127.0.0.1
  sockit resolve -f names.txt --concurrency 32 --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if v4 && v6 {
				return usageErr("resolve: -4 and -6 exclude each other")
			}
			if v4 {
				r.Family = 4
			} else if v6 {
				r.Family = 6
			}
			if file == "" && len(args) == 0 {
				return usageErr("resolve: no NAME given (see sockit resolve --help)")
			}
			if file != "" && len(args) > 0 {
				return usageErr("resolve: give NAMEs or -f FILE, not both")
			}
			names := slices.Values(args)
			if file != "" {
				in := a.stdin
				if file != "-" {
					f, err := os.Open(file)
					if err != nil {
						return usageErr("resolve: %v", err)
					}
					defer f.Close()
					in = f
				}
				names = lines(in)
			}
			return a.runResolve(&r, names, len(args) == 1, reverse, asJSON, concurrency)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&v4, "ipv4", "4", false, "IPv4 addresses only")
	f.BoolVarP(&v6, "ipv6", "6", false, "IPv6 addresses only")
	f.StringVar(&r.Server, "server", "", "ask this DNS server (HOST[:PORT]) directly instead of the system resolver")
	durationVar(f, &r.Timeout, "timeout", 5*time.Second, "bound on each DNS exchange with --server")
	f.BoolVarP(&reverse, "reverse", "x", false, "reverse lookup: NAMEs are addresses, print their host names (PTR)")
	f.BoolVar(&asJSON, "json", false, `print [{"name": ..., "addresses": [...]}]`)
	f.StringVarP(&file, "file", "f", "", "read NAMEs from FILE, one a line (- for stdin)")
	f.IntVar(&concurrency, "concurrency", 16, "lookups in flight at once with -f")
	return cmd
}

// lines yields the non-empty, non-comment lines of r, trimmed.
func lines(r io.Reader) iter.Seq[string] {
	return func(yield func(string) bool) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !yield(line) {
				return
			}
		}
	}
}

type resolveJSON struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	Error     string   `json:"error,omitempty"`
}

func (a *app) runResolve(r *resolve.Resolver, names iter.Seq[string], single, reverse, asJSON bool, concurrency int) error {
	failed := false
	var all []resolveJSON
	out := bufio.NewWriter(a.stdout)
	err := r.Each(a.ctx, names, concurrency, reverse, func(res resolve.Result) error {
		if res.Err != nil {
			failed = true
			msg := res.Err.Error()
			var re *resolve.Error
			if !errors.As(res.Err, &re) {
				msg = "resolve " + res.Name + ": " + msg
			}
			fmt.Fprintf(a.stderr, "sockit: %s\n", msg)
		}
		if asJSON {
			j := resolveJSON{Name: res.Name, Addresses: res.Addrs}
			if j.Addresses == nil {
				j.Addresses = []string{}
			}
			if res.Err != nil {
				j.Error = res.Err.Error()
			}
			all = append(all, j)
			return nil
		}
		for _, addr := range res.Addrs {
			if single {
				fmt.Fprintln(out, addr)
			} else {
				fmt.Fprintln(out, res.Name, addr)
			}
		}
		// Stream: a long -f list shows progress line by line.
		return out.Flush()
	})
	if err != nil {
		return err
	}
	if asJSON {
		if all == nil {
			all = []resolveJSON{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if failed {
		return quietExit(exitFailure)
	}
	return nil
}
