package zfs

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

func seeds(f *testing.F, patterns ...string) {
	for i, p := range patterns {
		patterns[i] = filepath.Join("testdata", p)
	}
	for _, b := range servetest.SeedFiles(f, patterns...) {
		f.Add(b)
	}
}

func FuzzParseStatusText(f *testing.F) {
	seeds(f, "text/*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		pools, err := ParseStatusText(b, time.UTC)
		if err == nil {
			for _, p := range pools {
				if p.State == "" {
					t.Fatalf("pool %q without state accepted", p.Name)
				}
			}
		}
	})
}

func FuzzParseStatusJSON(f *testing.F) {
	seeds(f, "json/*status*.json")
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseStatusJSON(b) })
}

func FuzzParseListAndDatasets(f *testing.F) {
	seeds(f, "json/*list*.json", "text/*.tsv")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseListJSON(b)
		_, _ = ParseDatasetsJSON(b)
		_, _ = ParseListText(b)
		_, _ = ParseDatasetsText(b)
		_, _ = ParseSnapshotsText(b)
	})
}
