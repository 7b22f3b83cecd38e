// Package packet is sockit's small tcpdump: frames captured from an
// interface, read from and written to pcap and pcapng files, filtered with
// tcpdump's expression language compiled to classic BPF, decoded into one
// line (or JSON object) per frame, and sent back onto an interface.
//
//   - Capture (capture_linux.go): a TPACKET_V3 memory-mapped AF_PACKET
//     ring, the filter attached in the kernel so rejected frames are never
//     copied; Stats gives tcpdump's counts.
//   - Filter (filter.go): tcpdump's subset of pcap-filter(7), compiled to
//     the same tests libpcap makes, so a frame passes exactly when it passes
//     tcpdump; Match runs it on a frame in user space (reading files).
//   - FileReader and FileWriter (pcap.go): pcap and pcapng in, pcap out,
//     through gopacket's pcapgo.
//   - Decoder (decode.go): Ethernet, VLAN, IPv4, IPv6, ARP, TCP, UDP and
//     ICMP through gopacket's layers, and what the small services and HTTP
//     said.
//   - Sender (send_linux.go): whole frames onto an interface.
//
// AF_PACKET is Linux's: elsewhere Open and NewSender return ErrLinuxOnly
// (capture with tcpdump there, over the BPF devices, and read its files
// here); files, filters and decoding work everywhere.
package packet
