package smart

import (
	"testing"

	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

func FuzzParse(f *testing.F) {
	for _, b := range servetest.SeedFiles(f, "testdata/*/*.json") {
		f.Add(b, 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, code int) {
		r, err := Parse(b, code)
		if err == nil && r.Standby && r.OpenFailed {
			t.Fatal("standby and open-failed at once")
		}
		_, _ = ParseScan(b)
	})
}
