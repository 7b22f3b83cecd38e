//go:build !linux

package bench

import (
	"context"
	"errors"
	"runtime"
)

// loopTarget: the loop engine runs on epoll, which only Linux has; here
// "" picks the goroutine engine and --engine loop says why it cannot.
type loopTarget struct{}

func loopTargetFor(*Config, func(int) worker) (*loopTarget, string) {
	return nil, "on " + runtime.GOOS + " (its epoll loops are Linux-only)"
}

func runLoopH2(context.Context, *loopTarget, *Config, int, *tally, *budget) error {
	return errors.New("bench: the loop engine is Linux-only")
}

func runLoop(context.Context, *loopTarget, *Config, int, *tally, *budget) error {
	return errors.New("bench: the loop engine is Linux-only")
}
