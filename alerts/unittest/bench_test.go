package unittest

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkRun runs the passing suite end to end (decode, load rules,
// evaluate, compare).
func BenchmarkRun(b *testing.B) {
	files, err := filepath.Glob("testdata/pass/*.yaml")
	if err != nil || len(files) == 0 {
		b.Fatalf("no test files: %v", err)
	}
	opts := testOptions()
	opts.Parallelism = 1
	for b.Loop() {
		res, err := Run(context.Background(), files, opts)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if failed(r) {
				b.Fatalf("%s failed", r.Path)
			}
		}
	}
}

// failed tells whether a file failed or was unusable.
func failed(r FileResult) bool {
	if len(r.Errs) > 0 {
		return true
	}
	for _, t := range r.Tests {
		if len(t.Failures) > 0 {
			return true
		}
	}
	return false
}
