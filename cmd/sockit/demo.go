package main

import (
	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/demo"
)

// demoCommand is `sockit demo`: package demo runs the steps, each a
// command line this program runs in process; here is the exit status.
func (a *app) demoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: demo.Short,
		Long:  demo.Long,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := demo.Run(a.ctx, demo.Config{Stdout: a.stdout, Stderr: a.stderr, Run: run, Ports: servicePorts()})
			switch {
			case a.ctx.Err() != nil:
				return quietExit(exitInterrupted) // cut short, not failed
			case err != nil:
				return err
			case res.OK < res.Total:
				return quietExit(exitFailure)
			}
			return nil
		},
	}
}
