package unittest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/hlalert/hlalert/alerts/rulefmt"
)

// TestCoverage: only passing checks count; an alert needs a test where it
// fires and one where it stays silent; a recording rule needs a sample; a
// rule file no test loads counts as uncovered.
func TestCoverage(t *testing.T) {
	results, err := Run(context.Background(), []string{"testdata/coverage/cov.test.yaml"}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if s := Summarize(results); s.Failed != 1 || s.Tests != 3 {
		t.Fatalf("want 3 tests with 1 failure (the fixture's failing test), got %+v", s)
	}
	untested, errs := rulefmt.LoadFile("testdata/coverage/untested.rules.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	rep := Coverage(results, []*rulefmt.File{untested})
	var text bytes.Buffer
	rep.WriteText(&text)
	golden(t, "testdata/coverage/report.out", text.String())

	// 7 items in cov.rules.yaml: 2 recording + 5 alerts x 2 = 12; the
	// untested file adds 2.
	if rep.Total != 14 || rep.Covered != 5 {
		t.Errorf("covered %d of %d items, want 5 of 14", rep.Covered, rep.Total)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back CoverageReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not read back: %v\n%s", err, js.String())
	}
	if len(back.Files) != 2 || back.Files[1].Tested || !back.Files[0].Tested {
		t.Errorf("files in JSON: %+v", back.Files)
	}
	if !bytes.Contains(js.Bytes(), []byte(`"never_evaluated": [`)) || bytes.Contains(js.Bytes(), []byte("null")) {
		t.Errorf("empty lists must be [] in JSON:\n%s", js.String())
	}
}

func TestCoverageNothingToCover(t *testing.T) {
	if rep := Coverage(nil, nil); rep.Percent != 100 || rep.Total != 0 {
		t.Errorf("no rules: %+v, want 100%% of 0", rep)
	}
}
