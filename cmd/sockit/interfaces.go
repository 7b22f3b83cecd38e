package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/packet"
)

func (a *app) interfacesCommand() *cobra.Command {
	var jsn bool
	cmd := &cobra.Command{
		Use:   "interfaces [--json]",
		Short: "List the network interfaces: index, MTU, flags, addresses, families",
		Long: `interfaces lists every interface with its index, MTU, flags, link type,
hardware address and IP addresses, and the address families it carries (packet
for AF_PACKET capture on any interface, on Linux; inet and inet6 where it has
addresses): what to know before sockit packet capture -i.`,
		Args: noArgs,
	}
	cmd.Flags().BoolVar(&jsn, "json", false, "a JSON array")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ifs, err := packet.Interfaces()
		if err != nil {
			return err
		}
		if jsn {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(ifs)
		}
		for _, in := range ifs {
			fmt.Fprintf(a.stdout, "%d: %s: <%s> mtu %d\n", in.Index, in.Name, strings.Join(in.Flags, ","), in.MTU)
			hw := in.HWAddr
			if hw == "" {
				hw = "-"
			}
			fmt.Fprintf(a.stdout, "    link %s %s\n", in.Link, hw)
			for _, ad := range in.Addrs {
				fam := "inet"
				if strings.Contains(ad, ":") {
					fam = "inet6"
				}
				fmt.Fprintf(a.stdout, "    %s %s\n", fam, ad)
			}
			fmt.Fprintf(a.stdout, "    families %s\n", strings.Join(in.Families, " "))
		}
		return nil
	}
	return cmd
}
