package cmdrun

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Reply is what a Fake answers to one argv.
type Reply struct {
	// Stdout is returned as the command's output; StdoutFile, when set, is
	// read instead (a captured fixture).
	Stdout     []byte
	StdoutFile string
	Stderr     []byte
	// ExitCode non-zero makes Run return an *ExitError carrying the output.
	ExitCode int
	// Err, when set, is returned as is (use ErrNotFound, ErrPermission, ...).
	Err error
	// Hang blocks until the context is done, then returns ErrTimeout
	// (deadline) or the context's error.
	Hang bool
}

// Fake is a Runner for tests: it replays Replies by argv (joined with single
// spaces) and counts calls. An argv with no reply fails with ErrNotFound, so
// a test notices an unexpected command. Safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	replies map[string]Reply
	calls   map[string]int
	envs    map[string][]string
}

// NewFake returns a Fake answering the given replies.
func NewFake(replies map[string]Reply) *Fake {
	f := &Fake{replies: map[string]Reply{}, calls: map[string]int{}, envs: map[string][]string{}}
	for k, v := range replies {
		f.replies[k] = v
	}
	return f
}

// Set replaces the reply to argv (joined with spaces).
func (f *Fake) Set(argv string, r Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[argv] = r
}

// Calls reports how many times argv (joined with spaces) was run.
func (f *Fake) Calls(argv string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[argv]
}

// Env returns the env passed with the last run of argv.
func (f *Fake) Env(argv string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.envs[argv]
}

// TotalCalls reports how many commands ran.
func (f *Fake) TotalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

// Run implements Runner.
func (f *Fake) Run(ctx context.Context, argv []string, env []string) ([]byte, error) {
	key := strings.Join(argv, " ")
	f.mu.Lock()
	f.calls[key]++
	f.envs[key] = append([]string(nil), env...)
	r, ok := f.replies[key]
	f.mu.Unlock()
	if len(argv) == 0 {
		return nil, fmt.Errorf("cmdrun: empty argv")
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w (fake has no reply for %q)", argv[0], ErrNotFound, key)
	}
	if r.Hang {
		<-ctx.Done()
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("%s: %w", argv[0], ErrTimeout)
		}
		return nil, fmt.Errorf("%s: %w", argv[0], ctx.Err())
	}
	if r.Err != nil {
		return nil, r.Err
	}
	out := r.Stdout
	if r.StdoutFile != "" {
		b, err := os.ReadFile(r.StdoutFile)
		if err != nil {
			return nil, fmt.Errorf("fake %q: %w", key, err)
		}
		out = b
	}
	if r.ExitCode != 0 {
		return out, &ExitError{Argv: argv, Code: r.ExitCode, Stdout: out, Stderr: r.Stderr}
	}
	return out, nil
}
