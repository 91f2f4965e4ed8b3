package golden

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDiff(t *testing.T) {
	got := Diff("a\nb\nc\n", "a\nx\nc\nd\n")
	want := "  a\n+ x\n- b\n  c\n+ d\n"
	if got != want {
		t.Errorf("Diff =\n%s\nwant\n%s", got, want)
	}
	if d := Diff("same\n", "same\n"); d != "  same\n" {
		t.Errorf("Diff of equal texts = %q", d)
	}
}

func TestErrors(t *testing.T) {
	if got := string(Errors(errors.Join(errors.New("one"), errors.New("two")))); got != "one\ntwo\n" {
		t.Errorf("Errors = %q", got)
	}
	if Errors(nil) != nil {
		t.Error("Errors(nil) is not empty")
	}
}

// Check passes on an equal file and fails on a different or missing one.
func TestCheck(t *testing.T) {
	if Updating() {
		t.Skip("-update rewrites instead of comparing")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "g.txt")
	if err := os.WriteFile(path, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, got string
		fail      bool
	}{
		{path, "a\n", false},
		{path, "b\n", true},
		{filepath.Join(dir, "missing.txt"), "a\n", true},
	} {
		ft := &fakeT{TB: t}
		func() {
			defer func() { recover() }() // Fatalf ends the fake test by panicking
			Check(ft, tc.path, []byte(tc.got))
		}()
		if ft.failed != tc.fail {
			t.Errorf("Check(%s, %q) failed=%v, want %v", filepath.Base(tc.path), tc.got, ft.failed, tc.fail)
		}
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeT) Fatal(...any)          { f.failed = true; panic("fatal") }
