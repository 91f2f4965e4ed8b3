package statestore

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/series"

	"github.com/hlalert/hlalert/internal/golden"
)

func sample() State {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return State{SavedAt: t0.Add(time.Hour), Entries: []Entry{
		{File: "/etc/hlalert/rules/backup.yaml", Group: "backup", Rule: "BackupStale",
			Alert: alert.Alert{Labels: series.FromStrings("alertname", "BackupStale", "repo", "nas"),
				Annotations: map[string]string{"summary": "stale"}, State: alert.StateFiring,
				ActiveAt: t0, FiredAt: t0.Add(10 * time.Minute), LastValue: 90000},
			LastSentAt: t0.Add(10*time.Minute + time.Second), LastSentState: alert.StateFiring},
		{File: "/etc/hlalert/rules/backup.yaml", Group: "backup", Rule: "BackupStale",
			Alert: alert.Alert{Labels: series.FromStrings("alertname", "BackupStale", "repo", "usb"),
				State: alert.StatePending, ActiveAt: t0.Add(5 * time.Minute), LastValue: math.NaN()}},
		{File: "/etc/hlalert/rules/zfs.yaml", Group: "zfs", Rule: "PoolDegraded",
			Alert: alert.Alert{Labels: series.FromStrings("alertname", "PoolDegraded", "pool", "tank"),
				State: alert.StateInactive, ActiveAt: t0, FiredAt: t0.Add(time.Minute), ResolvedAt: t0.Add(time.Hour),
				KeepFiringSince: t0.Add(50 * time.Minute), LastValue: math.Inf(1)},
			LastSentAt: t0.Add(time.Hour), LastSentState: alert.StateInactive},
	}}
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(); err != nil || len(st.Entries) != 0 {
		t.Fatalf("empty dir: %v %v", st, err)
	}
	want := sample()
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(got.Entries[1].Alert.LastValue) {
		t.Errorf("NaN value came back as %v", got.Entries[1].Alert.LastValue)
	}
	got.Entries[1].Alert.LastValue, want.Entries[1].Alert.LastValue = 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs\n got %+v\nwant %+v", got, want)
	}
	// No temp files are left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != FileName {
		t.Errorf("state dir holds %v", ents)
	}
}

func TestGolden(t *testing.T) {
	b, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "alerts.json"), b)
}

func TestDecodeBad(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      `{`,
		"version":       `{"version": 2, "alerts": []}`,
		"unknown state": `{"version": 1, "alerts": [{"group":"g","rule":"r","labels":{"a":"b"},"state":"burning","last_value":"1"}]}`,
		"bad value":     `{"version": 1, "alerts": [{"group":"g","rule":"r","labels":{"a":"b"},"state":"firing","last_value":"x"}]}`,
		"no labels":     `{"version": 1, "alerts": [{"group":"g","rule":"r","state":"firing","last_value":"1"}]}`,
	} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, err := os.ReadFile("testdata/alerts.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Decode(data)
		if err != nil {
			return
		}
		b, err := Encode(st)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("decode of re-encoded: %v", err)
		}
	})
}
