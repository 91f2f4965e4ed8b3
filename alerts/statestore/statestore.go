// Package statestore persists alert state across restarts and kill -9:
// one JSON file in the state directory, replaced atomically (write a temp
// file, fsync it, rename it over the old one, fsync the directory), so a
// crash leaves either the old or the new state, never a torn one.
package statestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/atomicfile"
	"github.com/hlalert/hlalert/alerts/series"
)

// FileName is the state file inside the state directory.
const FileName = "alerts.json"

const version = 1

// Entry is one alert with what was last notified about it. An entry is
// identified by Key: its group's file and name, its rule and its labels.
type Entry struct {
	File, Group, Rule string
	Alert             alert.Alert
	// LastSentAt is when a notification about the alert was last handed to
	// the notifier, and LastSentState the state it announced (firing or
	// inactive = resolved). Zero: never notified.
	LastSentAt    time.Time
	LastSentState alert.State
}

// Key identifies an entry across restarts.
func (e Entry) Key() string { return Key(e.File, e.Group, e.Rule, e.Alert.Labels) }

// Key builds an entry key.
func Key(file, group, ruleName string, ls series.Labels) string {
	return strconv.Quote(file) + "\x00" + strconv.Quote(group) + "\x00" + strconv.Quote(ruleName) + "\x00" + ls.Key()
}

// State is everything persisted.
type State struct {
	SavedAt time.Time
	Entries []Entry
}

// Store reads and writes the state file of one directory.
type Store struct {
	dir string
}

// Open creates the directory when needed.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("state directory: required")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Path is the state file's path.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

// Load reads the persisted state; a missing file is an empty state.
func (s *Store) Load() (State, error) {
	b, err := os.ReadFile(s.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read state: %w", err)
	}
	return Decode(b)
}

// Save replaces the state file atomically and durably.
func (s *Store) Save(st State) error {
	b, err := Encode(st)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.Path(), b, 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// The file form. Values are strings because JSON has no NaN or Inf.
type fileState struct {
	Version int         `json:"version"`
	SavedAt time.Time   `json:"saved_at"`
	Alerts  []fileEntry `json:"alerts"`
}

type fileEntry struct {
	File            string            `json:"file"`
	Group           string            `json:"group"`
	Rule            string            `json:"rule"`
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations,omitempty"`
	State           string            `json:"state"`
	ActiveAt        time.Time         `json:"active_at"`
	FiredAt         time.Time         `json:"fired_at,omitzero"`
	ResolvedAt      time.Time         `json:"resolved_at,omitzero"`
	KeepFiringSince time.Time         `json:"keep_firing_since,omitzero"`
	LastValue       string            `json:"last_value"`
	LastSentAt      time.Time         `json:"last_sent_at,omitzero"`
	LastSentState   string            `json:"last_sent_state,omitempty"`
}

// Encode renders a state as the file's bytes.
func Encode(st State) ([]byte, error) {
	f := fileState{Version: version, SavedAt: st.SavedAt.UTC(), Alerts: make([]fileEntry, 0, len(st.Entries))}
	for _, e := range st.Entries {
		fe := fileEntry{
			File: e.File, Group: e.Group, Rule: e.Rule,
			Labels: e.Alert.Labels.Map(), Annotations: e.Alert.Annotations,
			State: e.Alert.State.String(), ActiveAt: e.Alert.ActiveAt, FiredAt: e.Alert.FiredAt,
			ResolvedAt: e.Alert.ResolvedAt, KeepFiringSince: e.Alert.KeepFiringSince,
			LastValue:  strconv.FormatFloat(e.Alert.LastValue, 'g', -1, 64),
			LastSentAt: e.LastSentAt,
		}
		if !e.LastSentAt.IsZero() {
			fe.LastSentState = e.LastSentState.String()
		}
		f.Alerts = append(f.Alerts, fe)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses the file's bytes, rejecting anything it does not know.
func Decode(b []byte) (State, error) {
	var f fileState
	if err := json.Unmarshal(b, &f); err != nil {
		return State{}, fmt.Errorf("decode state: %w", err)
	}
	if f.Version != version {
		return State{}, fmt.Errorf("decode state: version %d, want %d", f.Version, version)
	}
	st := State{SavedAt: f.SavedAt, Entries: make([]Entry, 0, len(f.Alerts))}
	for i, fe := range f.Alerts {
		s, err := parseState(fe.State)
		if err != nil {
			return State{}, fmt.Errorf("decode state: alerts[%d].state: %w", i, err)
		}
		v, err := strconv.ParseFloat(fe.LastValue, 64)
		if err != nil {
			return State{}, fmt.Errorf("decode state: alerts[%d].last_value: %w", i, err)
		}
		if fe.Rule == "" || fe.Group == "" || len(fe.Labels) == 0 {
			return State{}, fmt.Errorf("decode state: alerts[%d]: group, rule and labels are required", i)
		}
		e := Entry{
			File: fe.File, Group: fe.Group, Rule: fe.Rule, LastSentAt: fe.LastSentAt,
			Alert: alert.Alert{
				Labels: series.FromMap(fe.Labels), Annotations: fe.Annotations, State: s,
				ActiveAt: fe.ActiveAt, FiredAt: fe.FiredAt, ResolvedAt: fe.ResolvedAt,
				KeepFiringSince: fe.KeepFiringSince, LastValue: v,
			},
		}
		if fe.LastSentState != "" {
			if e.LastSentState, err = parseState(fe.LastSentState); err != nil {
				return State{}, fmt.Errorf("decode state: alerts[%d].last_sent_state: %w", i, err)
			}
		}
		st.Entries = append(st.Entries, e)
	}
	return st, nil
}

func parseState(s string) (alert.State, error) {
	for _, st := range []alert.State{alert.StateInactive, alert.StatePending, alert.StateFiring} {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown state %q", s)
}
