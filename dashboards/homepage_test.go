package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/mqlengine"
	"github.com/hlalert/hlalert/dashboards/boardcheck"
	"github.com/hlalert/hlalert/dashboards/homelab"
)

// Homepage's services.yaml, as far as the documented blocks use it.
type hpService struct {
	Icon        string   `yaml:"icon"`
	Href        string   `yaml:"href"`
	Description string   `yaml:"description"`
	Widget      hpWidget `yaml:"widget"`
}

type hpWidget struct {
	Type            string      `yaml:"type"`
	URL             string      `yaml:"url"`
	RefreshInterval int         `yaml:"refreshInterval"`
	Mappings        []hpMapping `yaml:"mappings"`
	Metrics         []hpMetric  `yaml:"metrics"`
}

type hpMapping struct {
	Field  string    `yaml:"field"`
	Label  string    `yaml:"label"`
	Format string    `yaml:"format"`
	Prefix string    `yaml:"prefix"`
	Suffix string    `yaml:"suffix"`
	Remap  []hpRemap `yaml:"remap"`
}

type hpRemap struct {
	Value any    `yaml:"value"`
	Any   bool   `yaml:"any"`
	To    string `yaml:"to"`
}

type hpMetric struct {
	Label  string `yaml:"label"`
	Query  string `yaml:"query"`
	Format struct {
		Type   string `yaml:"type"`
		Suffix string `yaml:"suffix"`
	} `yaml:"format"`
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// homepageJSON is the served JSON of one golden scenario.
type homepageJSON struct {
	path     string
	scenario string
	fields   map[string]any
}

// goldenHomepage returns, by collector, the /api/homepage JSON of every
// golden file the replayed homelabs use.
func goldenHomepage(t *testing.T) map[string][]homepageJSON {
	t.Helper()
	scs, err := homelab.ReadScenarios("homelab/scenarios.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]homepageJSON{}
	for name, targets := range scs {
		for _, tg := range targets {
			for _, g := range tg.Files {
				parts := strings.Split(g.Path, "/")
				if parts[0] != "exporters" {
					continue // not hlexporter's (node_exporter)
				}
				p := filepath.Join("..", strings.TrimSuffix(g.Path, ".prom")+".homepage.json")
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(data, &m); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				out[parts[1]] = append(out[parts[1]], homepageJSON{path: p, scenario: name, fields: m})
			}
		}
	}
	return out
}

// checkHomepageDoc checks every YAML block of a Homepage doc page.
func checkHomepageDoc(t *testing.T, doc []byte, served map[string][]homepageJSON, h *homelab.Homelab, k *boardcheck.Known) []string {
	var probs []string
	blocks := yamlBlock.FindAllSubmatch(doc, -1)
	if len(blocks) == 0 {
		return []string{"no yaml block"}
	}
	for bi, b := range blocks {
		where := fmt.Sprintf("block %d", bi+1)
		var groups []map[string][]map[string]hpService
		dec := yaml.NewDecoder(bytes.NewReader(b[1]))
		dec.KnownFields(true)
		if err := dec.Decode(&groups); err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		for _, g := range groups {
			for _, svcs := range g {
				for _, svcMap := range svcs {
					for name, svc := range svcMap {
						probs = append(probs, checkWidget(where+" "+name, svc.Widget, served, h, k)...)
					}
				}
			}
		}
	}
	return probs
}

var homepagePath = regexp.MustCompile(`^/api/homepage/([a-z]+)$`)

func checkWidget(where string, w hpWidget, served map[string][]homepageJSON, h *homelab.Homelab, k *boardcheck.Known) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, where+": "+fmt.Sprintf(format, args...)) }
	switch w.Type {
	case "customapi":
		u, err := url.Parse(w.URL)
		if err != nil {
			bad("url: %v", err)
			return probs
		}
		m := homepagePath.FindStringSubmatch(u.Path)
		if m == nil || served[m[1]] == nil {
			bad("url %s is not /api/homepage/<collector> of a collector with golden scenarios", w.URL)
			return probs
		}
		if len(w.Mappings) == 0 || len(w.Mappings) > 4 {
			bad("%d mappings; a block holds 1 to 4", len(w.Mappings))
		}
		for _, mp := range w.Mappings {
			for _, js := range served[m[1]] {
				v, ok := resolve(js.fields, mp.Field)
				if !ok {
					if js.scenario == "healthy" {
						bad("field %s is not in %s (%s homelab)", mp.Field, js.path, js.scenario)
					}
					continue
				}
				if err := fitsFormat(v, mp); err != nil {
					bad("field %s in %s: %v", mp.Field, js.path, err)
				}
			}
		}
	case "prometheusmetric":
		if len(w.Metrics) == 0 || len(w.Metrics) > 4 {
			bad("%d metrics; a block holds 1 to 4", len(w.Metrics))
		}
		for _, mt := range w.Metrics {
			if err := mqlengine.Check(mt.Query); err != nil {
				bad("query %q: %v", mt.Query, err)
				continue
			}
			names, err := boardcheck.MetricNames(mt.Query)
			if err != nil {
				bad("query %q: %v", mt.Query, err)
			}
			for _, n := range names {
				if !k.Has(n) {
					bad("query %q reads %s, which nobody exports", mt.Query, n)
				}
			}
			v, err := h.Query(context.Background(), mt.Query)
			if err != nil || len(v) != 1 {
				bad("query %q: want one value on the healthy homelab, got %v (%v)", mt.Query, v, err)
			}
		}
	default:
		bad("widget type %q is not one the tests know", w.Type)
	}
	return probs
}

// resolve follows a customapi field path (dots) through the JSON.
func resolve(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// fitsFormat checks a served value against the mapping's format as
// Homepage reads it.
func fitsFormat(v any, mp hpMapping) error {
	if len(mp.Remap) > 0 {
		for _, r := range mp.Remap {
			if r.Any || fmt.Sprint(r.Value) == fmt.Sprint(v) {
				return nil
			}
		}
		return fmt.Errorf("value %v is not remapped", v)
	}
	switch mp.Format {
	case "", "text":
		switch v.(type) {
		case string, float64:
			return nil
		}
		return fmt.Errorf("text format: %T", v)
	case "number", "float", "bytes", "duration":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s format wants a number, got %T %v", mp.Format, v, v)
		}
	case "percent":
		f, ok := v.(float64)
		if !ok || f < 0 || f > 100 {
			return fmt.Errorf("percent format wants a number 0–100, got %v", v)
		}
	case "date", "relativeDate":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s format wants an ISO timestamp, got %T", mp.Format, v)
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("%s format: %v", mp.Format, err)
		}
	default:
		return fmt.Errorf("format %q is not one of Homepage's", mp.Format)
	}
	return nil
}

func TestHomepageDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/homepage.md")
	if err != nil {
		t.Fatal(err)
	}
	served := goldenHomepage(t)
	h := replay(t, "healthy")
	k := known(t)
	for _, p := range checkHomepageDoc(t, doc, served, h, k) {
		t.Error(p)
	}
	for _, c := range []string{"backup", "zfs", "smart", "deploy", "nvr"} {
		if !bytes.Contains(doc, []byte("/api/homepage/"+c+"\n")) {
			t.Errorf("no block for collector %s", c)
		}
	}
}

// The doc check catches a block that drifted from the endpoint.
func TestHomepageDocDrift(t *testing.T) {
	doc, err := os.ReadFile("../docs/homepage.md")
	if err != nil {
		t.Fatal(err)
	}
	served := goldenHomepage(t)
	h := replay(t, "healthy")
	k := known(t)
	for _, tc := range []struct{ old, new, want string }{
		{"field: zfs_vdev_errors", "field: zfs_vdev_error_count", "field zfs_vdev_error_count is not in"},
		{"field: deploy_time\n              label: Deployed\n              format: relativeDate", "field: deploy_age_hours\n              label: Deployed\n              format: relativeDate", "relativeDate format wants an ISO timestamp"},
		{"format: percent\n            - field: zfs_oldest_scrub", "format: percent\n            - field: zfs_pools\n              format: number\n            - field: zfs_oldest_scrub", "5 mappings"},
		{"mappings:\n            - field: smart_disks", "mapping:\n            - field: smart_disks", "field mapping not found"},
		{`query: count(ALERTS{alertstate="pending"}) or vector(0)`, `query: count(ALERT{alertstate="pending"})`, "reads ALERT, which nobody exports"},
	} {
		if !bytes.Contains(doc, []byte(tc.old)) {
			t.Fatalf("doc has no %q", tc.old)
		}
		probs := checkHomepageDoc(t, bytes.Replace(doc, []byte(tc.old), []byte(tc.new), 1), served, h, k)
		if !strings.Contains(strings.Join(probs, "\n"), tc.want) {
			t.Errorf("%q: problems %q, want %q", tc.new, probs, tc.want)
		}
	}
}
