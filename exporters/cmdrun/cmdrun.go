// Package cmdrun runs external tools for the collectors: argv only (never a
// shell), under a deadline, with LC_ALL=C and a controlled environment.
package cmdrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Runner runs one command and returns its standard output. A non-zero exit
// is returned as an *ExitError carrying the output, because several tools
// (smartctl, restic check) report through their exit status.
//
// Errors other than *ExitError wrap one of ErrNotFound, ErrPermission or
// ErrTimeout when that is the cause, so callers can test with errors.Is.
type Runner interface {
	Run(ctx context.Context, argv []string, env []string) ([]byte, error)
}

// Sentinel causes; errors returned by a Runner wrap them.
var (
	// ErrNotFound: the tool is not installed (not in PATH, or the path does not exist).
	ErrNotFound = errors.New("tool not found")
	// ErrPermission: the tool could not be started, or it reported that it
	// lacks the privileges it needs.
	ErrPermission = errors.New("permission denied")
	// ErrTimeout: the command ran past its deadline and was killed.
	ErrTimeout = errors.New("timed out")
)

// ExitError is a command that ran and exited with a non-zero status.
type ExitError struct {
	Argv   []string
	Code   int
	Stdout []byte
	Stderr []byte
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(string(e.Stderr))
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	if msg == "" {
		return fmt.Sprintf("%s: exit status %d", strings.Join(e.Argv, " "), e.Code)
	}
	return fmt.Sprintf("%s: exit status %d: %s", strings.Join(e.Argv, " "), e.Code, msg)
}

// Exec is the real Runner: exec.CommandContext with argv, a timeout, and an
// environment of LC_ALL=C, PATH (from Path, or the process's PATH when empty)
// plus the env given to Run. Nothing else of the process environment leaks in.
type Exec struct {
	// Timeout bounds each command when the context has no earlier deadline.
	// Zero means 60s.
	Timeout time.Duration
	// Path is the PATH given to commands; empty means the process's PATH.
	Path string
	// WaitDelay is how long to wait for output pipes after the kill; zero means 2s.
	WaitDelay time.Duration
}

// Run implements Runner.
func (r Exec) Run(ctx context.Context, argv []string, env []string) ([]byte, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("cmdrun: empty argv")
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	path := r.Path
	if path == "" {
		path = os.Getenv("PATH")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"LC_ALL=C", "LANG=C", "PATH=" + path}, env...)
	cmd.Stdin = nil
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = r.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = 2 * time.Second
	}
	if cmd.Err != nil { // lookup failed before start
		return nil, classifyStart(argv, cmd.Err)
	}
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return stdout.Bytes(), fmt.Errorf("%s: %w after %s", argv[0], ErrTimeout, timeout)
	}
	if ctx.Err() != nil {
		return stdout.Bytes(), fmt.Errorf("%s: %w", argv[0], ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.Bytes(), &ExitError{Argv: argv, Code: ee.ExitCode(), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	}
	return nil, classifyStart(argv, err)
}

func classifyStart(argv []string, err error) error {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w: %w", argv[0], ErrNotFound, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: %w: %w", argv[0], ErrPermission, err)
	}
	return fmt.Errorf("%s: start: %w", argv[0], err)
}
