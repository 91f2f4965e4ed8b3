package smart

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
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
