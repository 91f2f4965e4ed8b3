package homelab

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlalert/hlalert/alerts/logstream"
)

// readLogs reads a scenarios file and replays the log sources of its
// scenario "quiet" into a store.
func readLogs(path string) (*logstream.Store, error) {
	f, err := readFile(path)
	if err != nil {
		return nil, err
	}
	st := logstream.NewStore()
	return st, loadLogs("../..", f.Logs["quiet"], st)
}

// Every bad log source is refused with an error naming where it is.
func TestBadLogSources(t *testing.T) {
	for name, want := range map[string]string{
		"unknown-scenario":    `testdata/logs/unknown-scenario.bad.yaml: logs.noisy: no scenario "noisy"`,
		"no-start":            `testdata/logs/no-start.bad.yaml: logs.quiet[0]: tests and start are required`,
		"start-before-replay": `testdata/logs/start-before-replay.bad.yaml: logs.quiet[0]: start 2026-12-01T08:00:00Z is outside the replay (2026-12-01T09:00:00Z to 2026-12-01T12:00:00Z)`,
		"unknown-field":       `testdata/logs/unknown-field.bad.yaml: yaml: unmarshal errors:` + "\n" + `  line 9: field name not found in type homelab.LogSource`,
		"unknown-test":        `rules/journal-quiet.test.yml: no test named ["no such test"]`,
		"line-after-clock":    `rules/journal.test.yml:129:13: an SSH brute force burst fires, scattered failures do not: input stream {host="server", job="systemd-journal", level="info", unit="sshd.service"}: the line at 20m0s would be logged at 2026-12-01T12:10:00Z, after the replay's clock 2026-12-01T12:00:00Z`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := readLogs(filepath.Join("testdata/logs", name+".bad.yaml"))
			if err == nil || !strings.HasSuffix(err.Error(), want) {
				t.Errorf("err = %v\nwant one ending in %s", err, want)
			}
		})
	}
}

// A log source picks tests by name and puts their entries at its start
// plus their offsets, with the streams' labels as written.
func TestLogSource(t *testing.T) {
	st, err := readLogs("testdata/logs/one-test.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := st.Select(nil, At.Add(-Window), At)
	if len(got) != 1 || len(got[0].Entries) != 3 {
		t.Fatalf("streams = %v, want the one sshd stream with its 3 lines", got)
	}
	s := got[0]
	if want := `{host="server", job="systemd-journal", level="info", unit="sshd.service"}`; s.Labels.String() != want {
		t.Errorf("labels = %s, want %s", s.Labels, want)
	}
	if e := s.Entries[0]; !e.T.Equal(At.Add(-29*60e9)) || !strings.HasPrefix(e.Line, "Failed password for admin") {
		t.Errorf("first entry = %v %q, want 11:31 (start 11:30 + 1m) Failed password", e.T, e.Line)
	}
}
