package cmdrun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	r := Exec{Timeout: 2 * time.Second}
	ctx := context.Background()

	out, err := r.Run(ctx, []string{"env"}, []string{"RESTIC_PASSWORD_FILE=/x"})
	if err != nil {
		t.Fatal(err)
	}
	env := string(out)
	for _, want := range []string{"LC_ALL=C\n", "RESTIC_PASSWORD_FILE=/x\n", "PATH="} {
		if !strings.Contains(env, want) {
			t.Errorf("environment lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(env, "HOME=") {
		t.Errorf("the process environment leaked in:\n%s", env)
	}

	// argv, never a shell: the metacharacters arrive verbatim.
	out, err = r.Run(ctx, []string{"echo", "$(id)", ";", "|"}, nil)
	if err != nil || string(out) != "$(id) ; |\n" {
		t.Errorf("echo: %q %v", out, err)
	}

	_, err = r.Run(ctx, []string{"sh", "-c", "echo out; echo oops >&2; exit 3"}, nil)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || string(ee.Stdout) != "out\n" || !strings.Contains(err.Error(), "oops") {
		t.Errorf("exit error: %#v", err)
	}

	if _, err = r.Run(ctx, []string{"/nonexistent/tool"}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tool: %v", err)
	}
	if _, err = r.Run(ctx, []string{"no-such-tool-hlexporter"}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tool in PATH: %v", err)
	}

	noexec := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = r.Run(ctx, []string{noexec}, nil); !errors.Is(err, ErrPermission) {
		t.Errorf("not executable: %v", err)
	}

	start := time.Now()
	_, err = Exec{Timeout: 100 * time.Millisecond}.Run(ctx, []string{"sleep", "10"}, nil)
	if !errors.Is(err, ErrTimeout) || time.Since(start) > 5*time.Second {
		t.Errorf("timeout: %v after %s", err, time.Since(start))
	}
	if _, err = r.Run(ctx, nil, nil); err == nil {
		t.Error("empty argv accepted")
	}
}

func TestFake(t *testing.T) {
	f := NewFake(map[string]Reply{
		"a b":  {Stdout: []byte("x")},
		"fail": {ExitCode: 2, Stdout: []byte("partial"), Stderr: []byte("bad")},
		"hang": {Hang: true},
	})
	if out, err := f.Run(context.Background(), []string{"a", "b"}, []string{"E=1"}); err != nil || string(out) != "x" {
		t.Errorf("%q %v", out, err)
	}
	var ee *ExitError
	if _, err := f.Run(context.Background(), []string{"fail"}, nil); !errors.As(err, &ee) || string(ee.Stdout) != "partial" {
		t.Errorf("%v", err)
	}
	if _, err := f.Run(context.Background(), []string{"unknown"}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.Run(ctx, []string{"hang"}, nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("%v", err)
	}
	if f.Calls("a b") != 1 || f.TotalCalls() != 4 || f.Env("a b")[0] != "E=1" {
		t.Errorf("calls %d total %d env %v", f.Calls("a b"), f.TotalCalls(), f.Env("a b"))
	}
}
