package backup

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

func read(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBorgTimeZones(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	cases := []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		// borg 1.x: local wall time of the archiving host.
		{"2026-11-22T00:42:15.000000", berlin, time.Date(2026, 11, 21, 23, 42, 15, 0, time.UTC)},
		{"2026-07-01T12:00:00.123456", berlin, time.Date(2026, 7, 1, 10, 0, 0, 123456000, time.UTC)},
		{"2026-11-22T00:42:15.000000", ny, time.Date(2026, 11, 22, 5, 42, 15, 0, time.UTC)},
		{"2026-11-22T00:42:15", time.UTC, time.Date(2026, 11, 22, 0, 42, 15, 0, time.UTC)},
		// borg 2: with an offset, the zone setting is ignored.
		{"2026-11-22T00:42:15.000000+01:00", ny, time.Date(2026, 11, 21, 23, 42, 15, 0, time.UTC)},
	}
	for _, tc := range cases {
		got, err := ParseBorgTime(tc.in, tc.loc)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseBorgTime(%q, %s) = %v, %v; want %v", tc.in, tc.loc, got, err, tc.want)
		}
	}
	if _, err := ParseBorgTime("yesterday", time.UTC); err == nil || !strings.Contains(err.Error(), `timestamp "yesterday": not ISO 8601`) {
		t.Errorf("bad timestamp: %v", err)
	}
}

func TestArchivePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"nas-docs-2026-11-22T00:42:15": "nas-docs",
		"host_2026-11-22_03:00":        "host",
		"photos-2026-11-22":            "photos",
		"etc.1763701534":               "etc",
		"manual":                       "manual",
		"2026-11-22T00:42:15":          "2026-11-22T00:42:15",
	} {
		if got := ArchivePrefix(in); got != want {
			t.Errorf("ArchivePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsers(t *testing.T) {
	snaps, err := ParseResticSnapshots(read(t, "testdata/restic-0.18.1/snapshots.json"))
	if err != nil || len(snaps) == 0 || snaps[0].Summary == nil || snaps[0].Summary.Files != 3 {
		t.Errorf("0.18 snapshots: %v %+v", err, snaps)
	}
	snaps, err = ParseResticSnapshots(read(t, "testdata/restic-0.14.0/snapshots.json"))
	if err != nil || len(snaps) != 4 || snaps[0].Summary != nil {
		t.Errorf("0.14 snapshots: %v %d", err, len(snaps))
	}
	res, err := ParseResticCheckJSON(read(t, "testdata/restic-0.18.1/check-errors.json"))
	if err != nil || res.OK || res.Errors != 1 {
		t.Errorf("check errors: %+v %v", res, err)
	}
	sum, err := ParseResticRestore(read(t, "testdata/restic-0.18.1/restore-errors-combined.json"))
	if err != nil || sum.OK() || sum.Errors != 3 {
		t.Errorf("restore errors: %+v %v", sum, err)
	}
	sum, err = ParseResticRestore(read(t, "testdata/restic-0.18.1/restore.json"))
	if err != nil || !sum.OK() {
		t.Errorf("restore: %+v %v", sum, err)
	}
	if _, err := ParseResticRestore(read(t, "testdata/restic-0.18.1/restore-nosnap.stderr")); err == nil || !strings.Contains(err.Error(), "no summary line") {
		t.Errorf("restore without summary: %v", err)
	}
	for p, want := range map[string]Version{"testdata/restic-0.14.0/version.txt": {0, 14, 0}, "testdata/restic-0.18.1/version.txt": {0, 18, 1}, "testdata/borg-1.2.4/version.txt": {1, 2, 4}} {
		if v, err := ParseVersion(read(t, p)); err != nil || v != want {
			t.Errorf("ParseVersion(%s) = %v %v", p, v, err)
		}
	}
	if _, err := ParseEnvFile("bad.env", read(t, "testdata/secrets/bad.env")); err == nil || err.Error() != "bad.env:1: not KEY=VALUE" {
		t.Errorf("bad env: %v", err)
	}
	if _, err := ParseResticLockIDs([]byte("abc\n")); err == nil || !strings.Contains(err.Error(), `line 1: "abc" is not a lock ID`) {
		t.Errorf("lock ids: %v", err)
	}
}

func seeds(f *testing.F, globs ...string) {
	for _, b := range servetest.SeedFiles(f, globs...) {
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("null"))
}

func FuzzParseResticSnapshots(f *testing.F) {
	seeds(f, "testdata/restic-*/snapshots*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		snaps, err := ParseResticSnapshots(b)
		for _, s := range snaps {
			if err == nil && (s.ID == "" || s.Time.IsZero()) {
				t.Fatal("accepted a snapshot without id or time")
			}
		}
	})
}

func FuzzParseResticStats(f *testing.F) {
	seeds(f, "testdata/restic-*/stats*.json")
	f.Fuzz(func(t *testing.T, b []byte) { ParseResticStats(b) }) //nolint:errcheck // must not panic
}

func FuzzParseResticJSONLines(f *testing.F) {
	seeds(f, "testdata/restic-0.18.1/check*.json", "testdata/restic-*/restore*.json", "testdata/restic-*/*.stderr", "testdata/restic-*/check*.stdout")
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseResticCheckJSON(b); err == nil && r.OK != (r.Errors == 0) {
			t.Fatal("check OK disagrees with its error count")
		}
		ParseResticRestore(b) //nolint:errcheck // must not panic
	})
}

func FuzzParseResticLock(f *testing.F) {
	seeds(f, "testdata/restic-*/lock*.json", "testdata/restic-*/locks*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseResticLock(b)    //nolint:errcheck // must not panic
		ParseResticLockIDs(b) //nolint:errcheck // must not panic
	})
}

func FuzzParseBorg(f *testing.F) {
	seeds(f, "testdata/borg-*/*.json", "testdata/borg-*/*.stderr")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseBorgList(b, berlin) //nolint:errcheck // must not panic
		ParseBorgInfo(b, berlin) //nolint:errcheck // must not panic
	})
}

func FuzzParseEnvFile(f *testing.F) {
	seeds(f, "testdata/secrets/*.env")
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnvFile("x", b)
		for _, kv := range env {
			if err == nil && !strings.Contains(kv, "=") {
				t.Fatalf("entry %q without =", kv)
			}
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	seeds(f, "testdata/*/version.txt")
	f.Fuzz(func(t *testing.T, b []byte) { ParseVersion(b) }) //nolint:errcheck // must not panic
}
