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
// not the binary's pages (about 20 MiB of RSS), so that the daemon stays
// under the 40 MiB RSS target with ~500 rules: near the limit the
// collector runs more often and returns freed pages to the OS sooner.
// With 500 rules the live heap is ~5 MiB and the limit costs no
// measurable CPU; a rule set several times larger (live heap near the
// limit) would make the collector work hard and should raise it.
const defaultMemoryLimit = 24 << 20

// setMemoryLimit applies defaultMemoryLimit unless GOMEMLIMIT is set. Only
// main calls it, for the daemon: it is process-wide, so tests that call
// runRun keep their own.
func setMemoryLimit() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
