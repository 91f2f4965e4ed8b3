package systemd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

func TestParse(t *testing.T) {
	cases := []struct {
		file    string
		wantErr string
		ran, ok bool
		result  string
		exited  time.Time
	}{
		{file: "upgrade-success.txt", ran: true, ok: true, result: "success", exited: time.Unix(1795313920, 0)},
		{file: "upgrade-failed.txt", ran: true, ok: false, result: "exit-code", exited: time.Unix(1795313926, 0)},
		{file: "upgrade-never-ran.txt", ran: false, ok: false, result: "success"},
		{file: "upgrade-running.txt", ran: false, ok: false, result: "success"},
		{file: "upgrade-not-found.txt", result: "success"},
		// A finished oneshot that no timer references is unloaded by
		// systemd and shown afresh: its run is forgotten, not failed.
		{file: "success-unreferenced.txt", ran: false, ok: false, result: "success"},
		{file: "old-timestamp-format.txt", wantErr: "line 2: ExecMainStartTimestamp: timestamp \"Sun 2026-11-22 02:18:47 UTC\" is not @<unix seconds>"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			st, err := Parse(b)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Ran() != tc.ran || st.Succeeded() != tc.ok || st.Result != tc.result || !st.Exited.Equal(tc.exited) && !(tc.exited.IsZero() && st.Exited.IsZero()) {
				t.Errorf("got %+v ran=%v ok=%v", st, st.Ran(), st.Succeeded())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"no equals sign":           "line 1: \"no equals sign\" is not Key=Value",
		"LoadState=loaded\n":       "missing properties ActiveState, SubState, Result",
		"ExecMainStatus=abc\n":     "line 1: ExecMainStatus",
		"ExecMainExitTimestamp=@x": "line 1: ExecMainExitTimestamp: timestamp \"@x\"",
	}
	for in, want := range cases {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range servetest.SeedFiles(f, "testdata/*.txt") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Parse(b)
		if err == nil && st.Succeeded() && st.Result != "success" {
			t.Fatal("succeeded without success result")
		}
	})
}
