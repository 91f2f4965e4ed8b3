package unittest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// TestStreamNotation: lines one per interval, gaps, repeats, entries at
// offsets and repeated entries expand to the documented times.
func TestStreamNotation(t *testing.T) {
	const src = `rule_files: [r.yaml]
tests:
  - interval: 30s
    input_streams:
      - labels: '{unit="sshd.service", job="systemd-journal"}'
        lines:
          - a
          - {gap: 2}
          - {line: b, repeat: 2}
          - ''
        entries:
          - {at: 40s, line: c}
          - {at: 1m, line: d, repeat: 3, every: 100ms}
          - {at: 1m, line: e, repeat: 2}
`
	f, errs := Decode("x.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s := f.Tests[0].InputStreams[0]
	if want := `{job="systemd-journal", unit="sshd.service"}`; s.Labels.String() != want {
		t.Errorf("labels %s, want %s", s.Labels, want)
	}
	type at struct {
		at   time.Duration
		line string
	}
	want := []at{
		{0, "a"}, {90 * time.Second, "b"}, {120 * time.Second, "b"}, {150 * time.Second, ""},
		{40 * time.Second, "c"},
		{time.Minute, "d"}, {time.Minute + 100*time.Millisecond, "d"}, {time.Minute + 200*time.Millisecond, "d"},
		{time.Minute, "e"}, {time.Minute + time.Second, "e"},
	}
	var got []at
	for _, e := range s.Entries {
		got = append(got, at{e.At, e.Line})
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func TestParseStreamLabels(t *testing.T) {
	good := map[string]string{
		`{job="app"}`:                     `{job="app"}`,
		` { job = "app" , host="nas", } `: `{host="nas", job="app"}`,
		"{job=`a\\b`}":                    `{job="a\\b"}`,
		`{msg="tab\there \"q\" \u00e9"}`:  `{msg="tab\there \"q\" é"}`,
		``:                                `{}`,
		`{}`:                              `{}`,
		`{_x1="1", X="2"}`:                `{X="2", _x1="1"}`,
	}
	for in, want := range good {
		ls, err := ParseStreamLabels(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if ls.String() != want {
			t.Errorf("%q: got %s, want %s", in, ls, want)
		}
	}
}

// FuzzStreamLabels: the stream label parser never panics; what it
// accepts prints back (series.Labels.String) to a text it reads the same.
func FuzzStreamLabels(f *testing.F) {
	for _, s := range []string{`{job="app"}`, `{a="b", c="d",}`, "{a=`x`}", `{a=~"x"}`, `{a="\u00e9\n"}`, ``, `{`, `{a="`, `{a="b"} |= "x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseStreamLabels(s)
		if err != nil {
			le, ok := err.(*LabelsError)
			if !ok || le.Offset < 0 || le.Offset > len(s) {
				t.Fatalf("%q: error without a valid offset: %v", s, err)
			}
			return
		}
		again, err := ParseStreamLabels(ls.String())
		if err != nil {
			t.Fatalf("%q → %s: %v", s, ls, err)
		}
		if series.Compare(ls, again) != 0 {
			t.Fatalf("%q → %s → %s", s, ls, again)
		}
	})
}

// FuzzDecodeStreams: decoding test files with log input never panics,
// stays within MaxEntries, and every error names a position.
func FuzzDecodeStreams(f *testing.F) {
	for _, pattern := range []string{"testdata/streams/*/*.yaml", "testdata/lokitool/*.yml"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, errs := Decode("f.yaml", data)
		for _, e := range errs {
			if !strings.HasPrefix(e.Error(), "f.yaml") {
				t.Fatalf("error without position: %v", e)
			}
		}
		if file == nil {
			return
		}
		for _, tt := range file.Tests {
			n := 0
			for _, s := range tt.InputStreams {
				n += len(s.Entries)
			}
			if n > MaxEntries {
				t.Fatalf("%d entries, more than %d", n, MaxEntries)
			}
		}
	})
}

// hasLogTests tells whether a test file has log input or LogQL checks.
func hasLogTests(path string) bool {
	f, errs := ReadFile(path)
	if len(errs) > 0 || f == nil {
		return false
	}
	for _, t := range f.Tests {
		if len(t.InputStreams) > 0 || len(t.LogExprTests) > 0 {
			return true
		}
	}
	return false
}
