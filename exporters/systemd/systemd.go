// Package systemd reads the state of one systemd unit through
// `systemctl show` (argv, never a shell) and parses its Key=Value output.
// Both the deploy collector (nixos-upgrade.service) and the backup collector
// (the backup and restore-test units) use it.
package systemd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/exporters/cmdrun"
)

// Properties are the properties Show asks for, in order.
var Properties = []string{
	"Id", "LoadState", "ActiveState", "SubState", "Result",
	"ExecMainStatus", "ExecMainStartTimestamp", "ExecMainExitTimestamp",
}

// State is what systemd knows about a unit since boot. Zero times mean
// "never" (systemd prints an empty value).
type State struct {
	ID             string
	LoadState      string // loaded, not-found, masked, ...
	ActiveState    string // active, inactive, failed, activating, ...
	SubState       string
	Result         string // success, exit-code, signal, timeout, ...
	ExecMainStatus int
	Started        time.Time // ExecMainStartTimestamp
	Exited         time.Time // ExecMainExitTimestamp
}

// Ran reports whether the unit's main process finished at least once since
// boot: without that, Result is systemd's default and means nothing.
func (s State) Ran() bool { return !s.Exited.IsZero() }

// Succeeded reports whether the last finished run succeeded.
func (s State) Succeeded() bool {
	return s.Ran() && s.Result == "success" && s.ExecMainStatus == 0
}

// Argv is the command Show runs.
func Argv(systemctl, unit string) []string {
	return []string{systemctl, "show", "--timestamp=unix", "-p", strings.Join(Properties, ","), "--", unit}
}

// Show runs systemctl show for unit and parses it.
func Show(ctx context.Context, r cmdrun.Runner, systemctl, unit string) (State, error) {
	out, err := r.Run(ctx, Argv(systemctl, unit), nil)
	if err != nil {
		return State{}, fmt.Errorf("systemctl show %s: %w", unit, err)
	}
	st, err := Parse(out)
	if err != nil {
		return State{}, fmt.Errorf("systemctl show %s: %w", unit, err)
	}
	if st.LoadState == "not-found" {
		return st, fmt.Errorf("systemctl show %s: %w", unit, ErrNotFound)
	}
	return st, nil
}

// ErrNotFound: systemd does not know the unit (LoadState=not-found).
var ErrNotFound = errors.New("unit not found")

// Parse reads `systemctl show --timestamp=unix` output. Unknown keys are
// ignored (systemd adds properties over time); every key of Properties but
// Id must be present, so truncated or foreign output is an error.
func Parse(out []byte) (State, error) {
	var st State
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return State{}, fmt.Errorf("line %d: %q is not Key=Value", line, truncate(text))
		}
		seen[k] = true
		var err error
		switch k {
		case "Id":
			st.ID = v
		case "LoadState":
			st.LoadState = v
		case "ActiveState":
			st.ActiveState = v
		case "SubState":
			st.SubState = v
		case "Result":
			st.Result = v
		case "ExecMainStatus":
			st.ExecMainStatus, err = strconv.Atoi(v)
		case "ExecMainStartTimestamp":
			st.Started, err = parseTimestamp(v)
		case "ExecMainExitTimestamp":
			st.Exited, err = parseTimestamp(v)
		}
		if err != nil {
			return State{}, fmt.Errorf("line %d: %s: %w", line, k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return State{}, fmt.Errorf("read: %w", err)
	}
	var missing []string
	for _, p := range Properties[1:] {
		if !seen[p] {
			missing = append(missing, p)
		}
	}
	if st.LoadState == "not-found" {
		return st, nil // systemd prints few properties for unknown units
	}
	if len(missing) > 0 {
		return State{}, fmt.Errorf("missing properties %s", strings.Join(missing, ", "))
	}
	return st, nil
}

// parseTimestamp reads a --timestamp=unix value ("@1700000000"); empty and
// "n/a" mean never. The locale-dependent default format is refused: it
// carries a zone abbreviation that cannot be read back reliably.
func parseTimestamp(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "n/a" || v == "0" {
		return time.Time{}, nil
	}
	rest, ok := strings.CutPrefix(v, "@")
	if !ok {
		return time.Time{}, fmt.Errorf("timestamp %q is not @<unix seconds> (systemd ≥ 248 with --timestamp=unix is needed)", truncate(v))
	}
	secs, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, fmt.Errorf("timestamp %q is not @<unix seconds>", truncate(v))
	}
	return time.Unix(secs, 0).UTC(), nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
