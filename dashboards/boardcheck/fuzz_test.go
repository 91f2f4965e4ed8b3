package boardcheck

import (
	"context"
	"testing"

	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

// FuzzParse: a user's dashboard JSON never panics the lint, and what
// decodes can be checked without panicking either.
func FuzzParse(f *testing.F) {
	for _, b := range servetest.SeedFiles(f, "../*.json", "../../cmd/hlalert/testdata/dashboards/broken/*.json") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse("fuzz.json", data)
		if err != nil {
			return
		}
		Check(context.Background(), b, Options{})
	})
}
