package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/spf13/cobra"

	"github.com/sockit/sockit/packet"
	"github.com/sockit/sockit/proto"
)

func (a *app) packetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "packet",
		Short: "Capture, read and send Ethernet frames (AF_PACKET): a small tcpdump",
		Long: `packet captures frames on an interface (root or CAP_NET_RAW), reads pcap and
pcapng files, and sends frames. Lines decode IPv4, IPv6, ARP, TCP, UDP and ICMP,
and for the small services (echo, discard, chargen, qotd, daytime, time, on
their well-known ports and sockit serve's local ones) and HTTP, what was said.

FILTER is tcpdump's expression language (host, net, port, portrange, src, dst,
ip, ip6, arp, rarp, tcp, udp, icmp, icmp6, vlan, and, or, not, parentheses),
compiled to classic BPF and run in the kernel.

capture and send use AF_PACKET sockets, which only Linux has: on macOS and the
BSDs they say so and exit 1 (capture with tcpdump -w there, over the BPF
devices); read works everywhere.`,
		Args: subcommandsOnly,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.packetCaptureCommand(), a.packetReadCommand(), a.packetSendCommand())
	return cmd
}

// servicePorts maps every small service's well-known and local port to
// its name, for the decoder.
func servicePorts() map[uint16]string {
	m := map[uint16]string{}
	for _, in := range proto.All() {
		if in.Name == "http" {
			continue // HTTP is recognised by its first line, on any port
		}
		m[uint16(in.WellKnown)] = in.Name
		m[uint16(in.Local)] = in.Name
	}
	return m
}

// frameWriter prints one line per frame and, with -w, writes pcap.
type frameWriter struct {
	out  *bufio.Writer
	dec  *packet.Decoder
	json bool
	pcap *packet.FileWriter
}

func (w *frameWriter) write(f packet.Frame) error {
	if w.pcap != nil {
		return w.pcap.Write(f)
	}
	s := w.dec.Decode(f)
	line := s.Line()
	if w.json {
		line = s.JSON()
	}
	if _, err := w.out.WriteString(line + "\n"); err != nil {
		return err
	}
	return nil
}

func (w *frameWriter) flush() error {
	if w.pcap != nil {
		if err := w.pcap.Flush(); err != nil {
			return err
		}
	}
	return w.out.Flush()
}

func compileFilter(args []string) (*packet.Filter, error) {
	expr := strings.Join(args, " ")
	if expr == "" {
		return nil, nil
	}
	f, err := packet.Compile(expr)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return f, nil
}

func (a *app) packetCaptureCommand() *cobra.Command {
	var (
		iface string
		count int
		file  string
		jsn   bool
		opt   packet.Options
	)
	cmd := &cobra.Command{
		Use:   "capture -i IFACE [-c N] [-w FILE] [--json] [FILTER...]",
		Short: "Capture frames on an interface, one line per frame (needs root or CAP_NET_RAW)",
		Long: `capture reads frames from IFACE through a TPACKET_V3 memory-mapped ring, with
FILTER compiled to BPF and attached in the kernel, so frames it rejects are
never copied. Standard output holds one line per frame (or with -w, nothing:
the frames go to FILE as pcap, which tcpdump and Wireshark read). At the end
(-c frames, or SIGINT/SIGTERM) standard error gets the kernel's counts, as
tcpdump prints them.`,
		Example: `  sockit packet capture -i lo port 8001
  sockit packet capture -i eth0 -c 10 'tcp and not port 22'
  sockit packet capture -i lo -w echo.pcap port 8001 or port 8013`,
	}
	cmd.Flags().StringVarP(&iface, "interface", "i", "", "interface to capture on (see sockit interfaces)")
	cmd.Flags().IntVarP(&count, "count", "c", 0, "stop after N frames (0: until interrupted)")
	cmd.Flags().StringVarP(&file, "write", "w", "", "write frames to FILE as pcap instead of printing them (- for stdout)")
	cmd.Flags().BoolVar(&jsn, "json", false, "one JSON object per frame")
	var bufKiB int
	cmd.Flags().IntVarP(&bufKiB, "buffer-size", "B", 16384, "ring size in KiB (as tcpdump's -B), in blocks of 128 KiB (512 KiB with -w)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := packet.Supported(); err != nil {
			return err
		}
		if iface == "" {
			return usageErr("%s: -i IFACE is required (see sockit interfaces)", cmd.CommandPath())
		}
		if count < 0 {
			return usageErr("%s: -c %d: want 0 (until interrupted) or more", cmd.CommandPath(), count)
		}
		if bufKiB < 128 {
			return usageErr("%s: -B %d: want at least 128 (KiB)", cmd.CommandPath(), bufKiB)
		}
		// Lines: blocks of 128 KiB handed over at least every 10 ms (the
		// ring's default), so a person sees frames as they come. -w: no one
		// watches the file fill, so blocks of 512 KiB (while the ring keeps
		// 8 or more) handed over every 100 ms: a flood wakes the capture
		// once per 3600 small frames instead of per 900, which halves its
		// CPU per frame; ^C then waits up to 0.2 s for the last block.
		blockKiB := 128
		if file != "" {
			opt.Timeout = 100 * time.Millisecond
			if bufKiB >= 8*512 {
				blockKiB = 512
			}
		}
		opt.BlockSize, opt.Blocks = blockKiB<<10, bufKiB/blockKiB
		f, err := compileFilter(args)
		if err != nil {
			return err
		}
		w, closeOut, err := a.frameWriter(file, jsn)
		if err != nil {
			return err
		}
		defer closeOut()
		ctx, cancel := context.WithCancel(a.ctx)
		defer cancel()
		c, err := packet.Open(ctx, iface, f, opt)
		if err != nil {
			return err
		}
		defer c.Close()
		// tcpdump's line: scripts wait for it before sending traffic.
		fmt.Fprintf(a.stderr, "listening on %s, link-type EN10MB (Ethernet), snapshot length %d bytes\n", iface, packet.Snaplen)
		n := 0
		if w.pcap != nil {
			// -w: records straight from the ring into the file's buffer.
			n, err = c.WriteFile(ctx, w.pcap, count)
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
		}
		for w.pcap == nil && (count == 0 || n < count) {
			fr, err := c.Next(ctx)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					break
				}
				return err
			}
			if err := w.write(fr); err != nil {
				return err
			}
			n++
			// Lines go out as they come when a person or a pipe watches.
			if w.pcap == nil && c.Buffered() == 0 {
				if err := w.flush(); err != nil {
					return err
				}
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		st, err := c.Stats()
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "%d packets captured\n%d packets received by filter\n%d packets dropped by kernel\n", n, st.Received, st.Dropped)
		return nil
	}
	return cmd
}

// frameWriter opens -w's file (or stdout) and returns the writer and what
// closes it.
func (a *app) frameWriter(file string, jsn bool) (*frameWriter, func(), error) {
	w := &frameWriter{out: bufio.NewWriter(a.stdout), dec: packet.NewDecoder(servicePorts()), json: jsn}
	if file == "" {
		return w, func() {}, nil
	}
	var dst io.Writer = a.stdout
	closeOut := func() {}
	if file != "-" {
		fh, err := os.Create(file)
		if err != nil {
			return nil, nil, err
		}
		dst, closeOut = fh, func() { fh.Close() }
	}
	pw, err := packet.NewFileWriter(dst)
	if err != nil {
		closeOut()
		return nil, nil, err
	}
	w.pcap = pw
	return w, closeOut, nil
}

func (a *app) packetReadCommand() *cobra.Command {
	var jsn bool
	cmd := &cobra.Command{
		Use:   "read [--json] FILE [FILTER...]",
		Short: "Print the frames of a pcap or pcapng file (tcpdump -r)",
		Long: `read prints one line per frame of FILE (pcap or pcapng, as tcpdump -w and
Wireshark write them; - is stdin) that FILTER selects. FILTER selects exactly
what tcpdump -r would. A file that ends inside a frame (a capture cut short)
gives its whole frames, then tcpdump's line for it ("truncated dump file;
tried to read 74 captured bytes, only got 60"), and exits 1, as tcpdump does.`,
		Example: `  sockit packet read echo.pcap
  sockit packet read capture.pcapng 'udp and (port 17 or port 8017)'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usageErr("%s wants a FILE (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsn, "json", false, "one JSON object per frame")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		f, err := compileFilter(args[1:])
		if err != nil {
			return err
		}
		var in io.Reader = a.stdin
		if args[0] != "-" {
			fh, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer fh.Close()
			in = fh
		}
		r, err := packet.NewFileReader(in)
		if err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		if r.LinkType() != layers.LinkTypeEthernet {
			return fmt.Errorf("%s: link type %s: sockit reads Ethernet captures", args[0], r.LinkType())
		}
		w, _, _ := a.frameWriter("", jsn)
		for {
			fr, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				w.flush()
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if !f.Match(fr.Data) {
				continue
			}
			if err := w.write(fr); err != nil {
				return err
			}
		}
		return w.flush()
	}
	return cmd
}

func (a *app) packetSendCommand() *cobra.Command {
	var (
		iface string
		hexs  []string
		loops int
	)
	cmd := &cobra.Command{
		Use:   "send -i IFACE [--loop N] (FILE.pcap | --hex FRAME...)",
		Short: "Send the frames of a pcap file, or frames written in hex (needs root or CAP_NET_RAW)",
		Long: `send writes each frame of FILE (pcap or pcapng, Ethernet) onto IFACE as it is,
in order and as fast as the socket takes them, and says how many it sent on
standard error. --hex sends a hand-written frame instead (repeat it for
more): destination MAC, source MAC, EtherType and payload, in hex (spaces
and colons ignored). --loop sends the whole set N times, as tcpreplay's
--loop does: a bounded flood.`,
		Example: `  sockit packet send -i veth0 echo.pcap
  sockit packet send -i lo --hex 'ffffffffffff 020000000001 88b5 68656c6c6f'`,
	}
	cmd.Flags().StringVarP(&iface, "interface", "i", "", "interface to send on")
	cmd.Flags().StringArrayVar(&hexs, "hex", nil, "a frame in hex, instead of a file (repeatable)")
	cmd.Flags().IntVar(&loops, "loop", 1, "send the frames N times")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := packet.Supported(); err != nil {
			return err
		}
		if iface == "" {
			return usageErr("%s: -i IFACE is required", cmd.CommandPath())
		}
		if (len(hexs) == 0) == (len(args) == 0) || len(args) > 1 {
			return usageErr("%s wants either FILE or --hex FRAME", cmd.CommandPath())
		}
		if loops < 1 {
			return usageErr("%s: --loop must be 1 or more", cmd.CommandPath())
		}
		var frames [][]byte
		for _, h := range hexs {
			frame, err := packet.ParseHex(h)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			frames = append(frames, frame)
		}
		var next func() ([]byte, error)
		if len(args) == 1 {
			fh, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer fh.Close()
			r, err := packet.NewFileReader(fh)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if r.LinkType() != layers.LinkTypeEthernet {
				return fmt.Errorf("%s: link type %s: sockit sends Ethernet frames", args[0], r.LinkType())
			}
			next = func() ([]byte, error) {
				f, err := r.Next()
				return f.Data, err
			}
			if loops > 1 {
				// Loops replay from memory: read the file once.
				for {
					f, err := next()
					if err == io.EOF {
						break
					}
					if err != nil {
						return fmt.Errorf("%s: %w", args[0], err)
					}
					frames = append(frames, append([]byte(nil), f...))
				}
			}
		}
		if next == nil || loops > 1 {
			i := 0
			next = func() ([]byte, error) {
				if i == len(frames)*loops {
					return nil, io.EOF
				}
				i++
				return frames[(i-1)%len(frames)], nil
			}
		}
		s, err := packet.NewSender(iface)
		if err != nil {
			return err
		}
		defer s.Close()
		n := 0
		for a.ctx.Err() == nil {
			frame, err := next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if err := s.Send(frame); err != nil {
				return fmt.Errorf("send frame %d: %w", n+1, err)
			}
			n++
		}
		fmt.Fprintf(a.stderr, "%d frames sent on %s\n", n, iface)
		return nil
	}
	return cmd
}
