package alert_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hlalert/hlalert/"

// The consumers of alerts must not depend on the evaluator or, through
// it, on the query engines and the scraper: that is what this package is
// for. A new import that brings one of them back fails here with the
// chain that does it.
func TestConsumersDoNotImportTheEvaluator(t *testing.T) {
	consumers := []string{"alerts/notify", "alerts/email", "alerts/history", "alerts/web", "alerts/remotewrite"}
	usesAlert := []string{"alerts/notify", "alerts/history", "alerts/web"}
	forbidden := []string{"alerts/evaluator", "alerts/mqlengine", "alerts/lqlengine", "alerts/scrape", "alerts/rule", "alerts/rulefmt"}
	for _, c := range consumers {
		t.Run(c, func(t *testing.T) {
			imports := deps(t, module+c)
			if slices.Contains(usesAlert, c) && !slices.Contains(imports[module+c], module+"alerts/alert") {
				t.Errorf("%s does not import alerts/alert; is it still a consumer of alerts?", c)
			}
			for _, f := range forbidden {
				if chain := path(imports, module+c, module+f); chain != nil {
					t.Errorf("%s depends on %s: %s", c, f, strings.Join(chain, " -> "))
				}
			}
		})
	}
}

// The check can fail: the evaluator itself does reach the engines.
func TestDepsFindsTheEngineUnderTheEvaluator(t *testing.T) {
	imports := deps(t, module+"alerts/evaluator")
	for _, f := range []string{"alerts/mqlengine", "alerts/lqlengine", "alerts/scrape"} {
		if path(imports, module+"alerts/evaluator", module+f) == nil {
			t.Errorf("no path from alerts/evaluator to %s found; the dependency check is blind", f)
		}
	}
}

// deps returns the import graph below pkg (non-test imports, as the
// binary links them), package → its direct imports.
func deps(t *testing.T, pkg string) map[string][]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the dependency check needs the go command: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}} {{.Dir}}{{range .Imports}} {{.}}{{end}}", pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.Bytes())
	}
	g := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		g[f[0]] = f[2:]
		if strings.HasPrefix(f[0], module) {
			touchSources(t, f[1])
		}
	}
	if _, ok := g[pkg]; !ok {
		t.Fatalf("go list -deps %s did not list the package itself:\n%s", pkg, out)
	}
	return g
}

// touchSources stats the Go files of dir so that go test's cache, which
// cannot see what the go list subprocess read, reruns this test when one
// of them changes.
func touchSources(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") {
			if _, err := os.Stat(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// path returns the shortest import chain from → to, or nil.
func path(g map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, strings.TrimPrefix(p, module))
			}
			slices.Reverse(chain)
			return chain
		}
		for _, q := range g[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
}
