package main

import (
	"context"
	"fmt"
	"io"
)

// version and commit are stamped at link time by the Nix package:
// -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "hlalert version: unexpected arguments %q\n", args)
		return exitUsage
	}
	fmt.Fprintf(stdout, "hlalert %s (commit %s)\n", version, commit)
	return exitOK
}
