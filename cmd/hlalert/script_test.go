package main

import (
	"context"
	"os"
	"testing"

	"github.com/hlalert/hlalert/internal/scripttest"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the transcripts run the real CLI as the command hlalert.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hlalert": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI transcripts in testdata/script: command, input
// files, exact stdout/stderr and exit status in one file each
// (go test -run TestScripts -update rewrites their expected outputs).
func TestScripts(t *testing.T) {
	testscript.Run(t, scripttest.Params("testdata/script", updateGolden()))
}
