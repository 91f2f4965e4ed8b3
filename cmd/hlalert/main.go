// Command hlalert evaluates the homelab's alerting and recording rules,
// unit-tests them and checks them.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		setMemoryLimit()
		// No heap profile unless -debug.pprof-listen asks for one (runRun
		// then sets a rate): every sampled allocation site is a bucket in
		// the profiler's 1.4 MiB hash table, one resident page each, ~1 MiB
		// of RSS for a profile nobody reads.
		runtime.MemProfileRate = 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// defaultMemoryLimit is the Go runtime's soft memory limit for `hlalert
// run` unless GOMEMLIMIT is set (e.g. GOMEMLIMIT=64MiB; "off" disables it).
// It bounds the memory the runtime manages (heap, stacks, its metadata),
// not the binary's pages (about 21 MiB of RSS), so that the daemon stays
// at or below vmalert's RSS with ~500 rules (.ci/bench/run-500-rules.sh):
// near the limit the collector runs more often and returns freed pages to
// the OS sooner. With 500 rules the live heap is ~7 MiB; 22 MiB instead of
// 24 MiB took the median VmRSS from 40.2 to 38.5 MiB (vmalert: 38.5) at
// ~15 % more CPU per cycle (18 MiB: 36.2 MiB at twice the CPU). A rule set
// several times larger (live heap near the limit) makes the collector work
// hard and should raise it.
const defaultMemoryLimit = 22 << 20

// setMemoryLimit applies defaultMemoryLimit unless GOMEMLIMIT is set. Only
// main calls it, for the daemon: it is process-wide, so tests that call
// runRun keep their own.
func setMemoryLimit() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
