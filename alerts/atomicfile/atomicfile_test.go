package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, tc := range []struct {
		data string
		perm fs.FileMode
	}{{"first\n", 0o600}, {"second, longer content\n", 0o640}, {"", 0o600}} {
		if err := Write(p, []byte(tc.data), tc.perm); err != nil {
			t.Fatalf("Write(%q): %v", tc.data, err)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.data {
			t.Errorf("content %q, want %q", got, tc.data)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.perm {
			t.Errorf("perm %v, want %v", fi.Mode().Perm(), tc.perm)
		}
		if names := entries(t, dir); len(names) != 1 || names[0] != "state.json" {
			t.Errorf("folder holds %v, want only state.json", names)
		}
	}
}

// A write that fails after the temporary file was created (the rename
// onto a non-empty folder fails) leaves the old content and no temporary
// file behind.
func TestFailedWriteKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(target, "keep")
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Write(target, []byte("new"), 0o600)
	if err == nil || !strings.Contains(err.Error(), "rename to "+target) {
		t.Fatalf("Write over a non-empty folder: err %v, want a rename error", err)
	}
	if got, _ := os.ReadFile(old); string(got) != "old" {
		t.Errorf("old content %q changed", got)
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "target" {
		t.Errorf("folder holds %v: temporary file left behind", names)
	}
}

// A write that cannot even create its temporary file leaves the old file.
func TestWriteReadOnlyFolder(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := Write(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	err := Write(p, []byte("new"), 0o600)
	if err == nil || !strings.Contains(err.Error(), "create temp file") {
		t.Fatalf("err %v, want create temp file error", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("content %q, want old", got)
	}
}

func TestWriteMissingFolder(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x"), 0o600)
	if err == nil || !strings.Contains(err.Error(), "create temp file") {
		t.Fatalf("err %v, want create temp file error", err)
	}
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if err := SyncDir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("SyncDir(missing): %v", err)
	}
}
