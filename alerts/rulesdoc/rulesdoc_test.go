package rulesdoc

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/hlalert/hlalert/alerts/rulefmt"
)

var update = flag.Bool("update", false, "rewrite the alerts table in README.md")

// The README's table of shipped alerts is the one the rule files give.
func TestReadmeTableInSync(t *testing.T) {
	files, errs := rulefmt.LoadGlobs([]string{"../../rules/*.rules.yml"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	table := Table(files, "../..")
	const readme = "../../README.md"
	doc, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Replace(string(doc), table)
	if err != nil {
		t.Fatalf("%s: %v", readme, err)
	}
	if *update {
		if err := os.WriteFile(readme, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != string(doc) {
		t.Errorf("the alerts table in README.md is stale: run go test ./alerts/rulesdoc -update")
	}
}

func TestPlaceholders(t *testing.T) {
	for in, want := range map[string]string{
		"{{ $labels.instance }} is down":                  "‹instance› is down",
		"{{ $value | humanizePercentage }} free":          "‹value› free",
		"{{- $labels.job -}}/{{ $labels.pool }}":          "‹job›/‹pool›",
		"{{ if gt $value 1.0 }}many{{ end }}":             "…many…",
		"no template":                                     "no template",
		"`dig @{{ $labels.instance | stripPort }} x`":     "`dig @‹instance› x`",
		"{{ $labelsX }} {{ $valueOf }} {{ $labels.a.b }}": "… … ‹a›",
	} {
		if got := Placeholders(in); got != want {
			t.Errorf("Placeholders(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTable(t *testing.T) {
	f, errs := rulefmt.LoadTyped("x/a.rules.yml", []byte(`groups:
  - name: g
    rules:
      - record: r:x
        expr: x
      - alert: A
        expr: x > 1
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.job }} | bad"
          description: "Do
            this."
`), rulefmt.TypeMetricsQL)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got := Table([]*rulefmt.File{f}, "x")
	want := "| `A` | warning | ‹job› \\| bad | Do this. | [a.rules.yml](a.rules.yml) |\n"
	if !strings.HasSuffix(got, want) || strings.Count(got, "\n") != 3 {
		t.Errorf("Table:\n%s\nwant last row:\n%s", got, want)
	}
	if _, err := Replace("no markers", got); err == nil {
		t.Error("Replace without markers must fail")
	}
}
