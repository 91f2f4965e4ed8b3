// Package unittest runs rule unit tests written for vmalert-tool or promtool
// (`hlalert test`): input series go into an in-memory store, the rule groups
// are evaluated tick by tick with the shared rule engine, and the expected
// alerts and query results are compared.
package unittest

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Format is the dialect of a test file.
type Format int

// The two dialects, told apart by their keys.
const (
	VMAlertTool Format = iota // metricsql_expr_test, groupname, start at 2000-01-01
	Promtool                  // promql_expr_test, no groupname, start at 0
	Lokitool                  // promtool's rules with LogQL: input_streams, logql_expr_test; untyped groups are LogQL
)

func (f Format) String() string {
	switch f {
	case Promtool:
		return "promtool"
	case Lokitool:
		return "lokitool"
	}
	return "vmalert-tool"
}

// File is a decoded test file.
type File struct {
	Path               string
	Format             Format
	RuleFiles          []string       // as written
	RuleFilesPos       yamlnode.Pos   // of the rule_files key
	RuleFilePos        []yamlnode.Pos // of each entry of RuleFiles
	EvaluationInterval time.Duration
	GroupEvalOrder     []string
	FuzzyCompare       bool
	Tests              []Test
}

// Test is one entry of tests:.
type Test struct {
	Pos            yamlnode.Pos
	Index          int // 1-based
	Name           string
	Interval       time.Duration // 0: the file's evaluation_interval
	InputSeries    []InputSeries
	InputStreams   []InputStream
	AlertTests     []AlertTest
	ExprTests      []ExprTest
	LogExprTests   []LogExprTest
	ExternalLabels map[string]string
	ExternalURL    string
	Start          *time.Time // promtool's start_timestamp
}

// DisplayName is the test's name, or #N when it has none.
func (t Test) DisplayName() string {
	if t.Name != "" {
		return t.Name
	}
	return "#" + strconv.Itoa(t.Index)
}

// InputSeries is one input series and its values, one per interval.
type InputSeries struct {
	Pos    yamlnode.Pos
	Labels series.Labels
	Values []ValueRun
}

// AlertTest is one alert_rule_test entry.
type AlertTest struct {
	Pos       yamlnode.Pos
	EvalTime  time.Duration
	GroupName string
	Alertname string
	ExpAlerts []ExpAlert
}

// ExpAlert is one expected firing alert.
type ExpAlert struct {
	Labels      map[string]string
	Annotations map[string]string
}

// ExprTest is a metricsql_expr_test (or promql_expr_test) entry.
type ExprTest struct {
	Pos        yamlnode.Pos
	Expr       string
	EvalTime   time.Duration
	ExpSamples []ExpSample
}

// ExpSample is one expected sample.
type ExpSample struct {
	Pos    yamlnode.Pos
	Labels series.Labels
	Value  float64
}

// decoder collects every error of a file.
type decoder struct {
	path string
	errs []error
	// evalInterval is the file's evaluation_interval: a test's default
	// spacing of input lines.
	evalInterval time.Duration
	// lines are the file's lines, to place offsets inside block scalars.
	lines []string
}

func (d *decoder) pos(n *yaml.Node) yamlnode.Pos { return yamlnode.At(d.path, n) }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &yamlnode.Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// fields checks that n is a mapping with only the allowed keys (each at
// most once) and returns key → value node (aliases resolved). YAML merge
// keys (<<: *base) are followed: explicit keys win (for a map of labels,
// overriding is an error: see strMap).
func (d *decoder) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	m := yamlnode.Mapping{Allowed: allowed, NullIsEmpty: true, Merge: true}
	fs, _ := m.Check(n, what, func(n *yaml.Node, msg string) { d.errorf(n, "%s", msg) })
	out := make(map[string]*yaml.Node, len(fs))
	for k, f := range fs {
		out[k] = f.Value
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// reader reads scalars and lists as every strict decoder does; null is
// the empty string or list.
func (d *decoder) reader() yamlnode.Reader {
	return yamlnode.Reader{
		Report:      func(n *yaml.Node, msg string) { d.errorf(n, "%s", msg) },
		OtherKind:   "an alias",
		NullIsEmpty: true,
	}
}

func (d *decoder) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	s, _ := d.reader().Str(n, what)
	return s
}

func (d *decoder) list(n *yaml.Node, what string) []*yaml.Node {
	if n == nil {
		return nil
	}
	return d.reader().List(n, what)
}

func (d *decoder) strMap(n *yaml.Node, what string) map[string]string {
	n = yamlnode.Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s", yamlnode.NotMappingMsg(what, n))
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	first := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if line, dup := first[k.Value]; dup {
			d.errorf(k, "%s", yamlnode.RepeatedKeyMsg(what, k.Value, line))
		} else {
			first[k.Value] = k.Line
		}
		m[k.Value] = d.str(v, what+"."+k.Value)
	}
	for _, mn := range merges {
		mm := d.strMap(mn, what)
		for _, mk := range slices.Sorted(maps.Keys(mm)) {
			mv := mm[mk]
			if _, ok := m[mk]; ok {
				d.errorf(n, "%s: key %q already set in map (a merged key cannot be overridden, as in vmalert-tool)", what, mk)
				continue
			}
			m[mk] = mv
		}
	}
	return m
}

// duration parses a duration the way vmalert-tool does (metricsql's
// syntax: 5m, 1h30m, 1.5h, 1d, 1w, a bare number of seconds).
func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	if n == nil {
		return 0, false
	}
	s := d.str(n, what)
	if s == "" {
		d.errorf(n, "%s: empty duration", what)
		return 0, false
	}
	ms, err := metricsql.DurationValue(s, 0)
	if err != nil {
		d.errorf(n, "%s: bad duration %q: %v", what, s, err)
		return 0, false
	}
	if ms < 0 {
		d.errorf(n, "%s: negative duration %q", what, s)
		return 0, false
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		d.errorf(n, "%s: duration %q is longer than 292 years", what, s)
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

func (d *decoder) float(n *yaml.Node, what string) float64 {
	var v float64
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		d.errorf(n, "%s: expected a number, got %s", what, yamlnode.KindName(n, "an alias"))
	}
	return v
}

// Keys that only one dialect has.
var (
	vmOnlyTestKeys   = []string{"metricsql_expr_test"}
	promOnlyTopKeys  = []string{"fuzzy_compare"}
	promOnlyTestKeys = []string{"promql_expr_test", "start_timestamp", "external_url"}
	// Keys of log tests, allowed in every dialect; without input_series
	// and metric expression tests they make a lokitool file.
	logTestKeys = []string{"input_streams", "logql_expr_test"}
)

// Decode reads a test file (path is used in positions; rule_files stay as
// written).
func Decode(path string, data []byte) (*File, []error) {
	d := &decoder{path: path, lines: strings.Split(string(data), "\n")}
	root, err := yamlnode.Document(path, data)
	if err != nil {
		return nil, []error{err}
	}
	if root == nil {
		return nil, []error{&yamlnode.Error{Pos: yamlnode.Pos{File: path, Line: 1, Col: 1}, Msg: "empty test file"}}
	}
	f := &File{Path: path}
	top := d.fields(root, "test file", "rule_files", "evaluation_interval", "group_eval_order", "tests", "fuzzy_compare")
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	f.Format = d.detect(top)

	if n := top["rule_files"]; n != nil {
		f.RuleFilesPos = d.pos(n)
		for _, e := range d.list(n, "rule_files") {
			if s := d.str(e, "rule_files[]"); s != "" {
				f.RuleFiles = append(f.RuleFiles, s)
				f.RuleFilePos = append(f.RuleFilePos, d.pos(e))
			}
		}
	} else {
		f.RuleFilesPos = d.pos(root)
	}
	if iv, ok := d.duration(top["evaluation_interval"], "evaluation_interval"); ok {
		f.EvaluationInterval = iv
	}
	if f.EvaluationInterval == 0 {
		f.EvaluationInterval = time.Minute
	}
	seen := map[string]bool{}
	for _, e := range d.list(top["group_eval_order"], "group_eval_order") {
		s := d.str(e, "group_eval_order[]")
		if seen[s] {
			d.errorf(e, "group name repeated in group_eval_order: %s", s)
		}
		seen[s] = true
		f.GroupEvalOrder = append(f.GroupEvalOrder, s)
	}
	if n := top["fuzzy_compare"]; n != nil {
		if err := n.Decode(&f.FuzzyCompare); err != nil {
			d.errorf(n, "fuzzy_compare: want true or false, got %s", kindName(n))
		}
	}
	d.evalInterval = f.EvaluationInterval
	for i, tn := range d.list(top["tests"], "tests") {
		f.Tests = append(f.Tests, d.test(tn, i+1, f.Format))
	}
	if len(d.errs) > 0 {
		return f, d.errs
	}
	return f, nil
}

// detect tells the dialect from the keys used: promtool-only keys, or alert
// tests without groupname and no vmalert-tool-only key, mean promtool.
func (d *decoder) detect(top map[string]*yaml.Node) Format {
	vm, prom, noGroup := false, false, false
	logs, metrics, extURL := false, false, false
	if top["fuzzy_compare"] != nil {
		prom = true
	}
	if tests := top["tests"]; tests != nil && tests.Kind == yaml.SequenceNode {
		for _, t := range tests.Content {
			if t.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(t.Content); i += 2 {
				k, v := t.Content[i].Value, t.Content[i+1]
				switch {
				case contains(logTestKeys, k):
					logs = true
				case k == "input_series":
					metrics = true
				case k == "external_url":
					extURL = true // lokitool has it too
				case contains(vmOnlyTestKeys, k):
					vm, metrics = true, true
				case contains(promOnlyTestKeys, k):
					prom, metrics = true, true
				case k == "alert_rule_test" && v.Kind == yaml.SequenceNode:
					for _, at := range v.Content {
						if mappingHas(at, "groupname") {
							vm = true
						} else {
							noGroup = true
						}
					}
				}
			}
		}
	}
	if vm && (prom || extURL) {
		d.errs = append(d.errs, &yamlnode.Error{Pos: d.pos(top["tests"]), Msg: "the file mixes vmalert-tool keys (metricsql_expr_test, groupname) and promtool keys (promql_expr_test, start_timestamp, external_url, fuzzy_compare)"})
		return VMAlertTool
	}
	if logs && !metrics && !vm && !prom {
		return Lokitool
	}
	if prom || extURL || (noGroup && !vm) {
		return Promtool
	}
	return VMAlertTool
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func mappingHas(n *yaml.Node, key string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (d *decoder) test(n *yaml.Node, idx int, format Format) Test {
	t := Test{Pos: d.pos(n), Index: idx}
	var fs map[string]*yaml.Node
	exprKey := "metricsql_expr_test"
	switch format {
	case Promtool:
		exprKey = "promql_expr_test"
		fs = d.fields(n, "tests[]", "name", "interval", "input_series", "input_streams", "alert_rule_test", exprKey, "logql_expr_test", "external_labels", "external_url", "start_timestamp")
	case Lokitool:
		fs = d.fields(n, "tests[]", "name", "interval", "input_streams", "alert_rule_test", "logql_expr_test", "external_labels", "external_url")
	default:
		fs = d.fields(n, "tests[]", "name", "interval", "input_series", "input_streams", "alert_rule_test", exprKey, "logql_expr_test", "external_labels")
	}
	t.Name = d.str(fs["name"], "name")
	if iv, ok := d.duration(fs["interval"], "interval"); ok {
		if iv == 0 {
			d.errorf(fs["interval"], "interval: must be positive")
		}
		t.Interval = iv
	}
	t.ExternalLabels = d.strMap(fs["external_labels"], "external_labels")
	t.ExternalURL = d.str(fs["external_url"], "external_url")
	if n := fs["start_timestamp"]; n != nil {
		s := d.str(n, "start_timestamp")
		if ts, err := parseTimestamp(s); err != nil {
			d.errorf(n, "start_timestamp: %v", err)
		} else {
			t.Start = &ts
		}
	}
	for _, sn := range d.list(fs["input_series"], "input_series") {
		t.InputSeries = append(t.InputSeries, d.inputSeries(sn, format))
	}
	interval := t.Interval
	if interval == 0 {
		interval = d.evalInterval
	}
	budget := MaxEntries
	for _, sn := range d.list(fs["input_streams"], "input_streams") {
		t.InputStreams = append(t.InputStreams, d.inputStream(sn, interval, &budget))
	}
	for _, en := range d.list(fs["logql_expr_test"], "logql_expr_test") {
		t.LogExprTests = append(t.LogExprTests, d.logExprTest(en))
	}
	for _, an := range d.list(fs["alert_rule_test"], "alert_rule_test") {
		t.AlertTests = append(t.AlertTests, d.alertTest(an, format))
	}
	for _, en := range d.list(fs[exprKey], exprKey) {
		t.ExprTests = append(t.ExprTests, d.exprTest(en, exprKey, format))
	}
	return t
}

func parseTimestamp(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a Unix timestamp or RFC 3339 time, got %q", s)
	}
	return t, nil
}

func (d *decoder) inputSeries(n *yaml.Node, format Format) InputSeries {
	fs := d.fields(n, "input_series[]", "series", "values")
	s := InputSeries{Pos: d.pos(n)}
	sn, vn := fs["series"], fs["values"]
	if sn == nil {
		d.errorf(n, "input_series[]: missing series")
	} else {
		ls, err := parseLabels(d.str(sn, "series"), true)
		if err != nil {
			d.errorf(sn, "series: %v", err)
		}
		s.Labels = ls
	}
	if vn == nil {
		if format != Promtool { // promtool: a series without samples
			d.errorf(n, "input_series[]: missing values")
		}
		return s
	}
	text := d.str(vn, "values")
	vals, err := ParseRuns(text, format)
	if err != nil {
		if ve, ok := err.(*ValueError); ok {
			d.errs = append(d.errs, &yamlnode.Error{Pos: d.valuePos(vn, ve.Offset), Msg: "values: " + ve.Msg})
		} else {
			d.errorf(vn, "values: %v", err)
		}
	}
	s.Values = vals
	return s
}

// valuePos maps an offset inside a scalar to a file position when the
// scalar is on one line (plain or quoted); else it is the scalar's start.
func (d *decoder) valuePos(n *yaml.Node, off int) yamlnode.Pos {
	p := d.pos(n)
	switch n.Style {
	case 0, yaml.FlowStyle:
		if !strings.Contains(n.Value, "\n") {
			p.Col += off
		}
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		if !strings.Contains(n.Value, "\n") && !strings.ContainsAny(n.Value, `\'`) {
			p.Col += off + 1
		}
	case yaml.LiteralStyle:
		// The text starts on the line after the | indicator, each line
		// indented as the first one.
		if off > len(n.Value) || n.Line >= len(d.lines) {
			break
		}
		first := d.lines[n.Line] // 0-based: the line after the indicator
		indent := len(first) - len(strings.TrimLeft(first, " "))
		line := strings.Count(n.Value[:off], "\n")
		col := off - (strings.LastIndex(n.Value[:off], "\n") + 1)
		p.Line, p.Col = n.Line+1+line, indent+1+col
	}
	return p
}

func (d *decoder) alertTest(n *yaml.Node, format Format) AlertTest {
	var fs map[string]*yaml.Node
	if format != VMAlertTool {
		fs = d.fields(n, "alert_rule_test[]", "eval_time", "alertname", "exp_alerts")
	} else {
		fs = d.fields(n, "alert_rule_test[]", "eval_time", "groupname", "alertname", "exp_alerts")
	}
	at := AlertTest{Pos: d.pos(n)}
	at.EvalTime, _ = d.duration(fs["eval_time"], "eval_time")
	at.GroupName = d.str(fs["groupname"], "groupname")
	at.Alertname = d.str(fs["alertname"], "alertname")
	if at.Alertname == "" {
		d.errorf(n, "alert_rule_test[]: missing required field \"alertname\"")
	}
	if fs["eval_time"] == nil && format != Promtool { // promtool: 0
		d.errorf(n, "alert_rule_test[]: missing required field \"eval_time\"")
	}
	for _, en := range d.list(fs["exp_alerts"], "exp_alerts") {
		efs := d.fields(en, "exp_alerts[]", "exp_labels", "exp_annotations")
		at.ExpAlerts = append(at.ExpAlerts, ExpAlert{
			Labels:      d.strMap(efs["exp_labels"], "exp_labels"),
			Annotations: d.strMap(efs["exp_annotations"], "exp_annotations"),
		})
	}
	return at
}

func (d *decoder) exprTest(n *yaml.Node, key string, format Format) ExprTest {
	fs := d.fields(n, key+"[]", "expr", "eval_time", "exp_samples")
	et := ExprTest{Pos: d.pos(n)}
	et.Expr = d.str(fs["expr"], "expr")
	if et.Expr == "" {
		d.errorf(n, "%s[]: missing required field \"expr\"", key)
	}
	et.EvalTime, _ = d.duration(fs["eval_time"], "eval_time")
	if fs["eval_time"] == nil && format != Promtool { // promtool: 0
		d.errorf(n, "%s[]: missing required field \"eval_time\"", key)
	}
	for _, sn := range d.list(fs["exp_samples"], "exp_samples") {
		sfs := d.fields(sn, "exp_samples[]", "labels", "value")
		s := ExpSample{Pos: d.pos(sn)}
		if ln := sfs["labels"]; ln != nil {
			ls, err := parseLabels(d.str(ln, "labels"), false)
			if err != nil {
				d.errorf(ln, "labels: %v", err)
			}
			s.Labels = ls
		}
		if vn := sfs["value"]; vn != nil {
			s.Value = d.float(vn, "value")
		}
		et.ExpSamples = append(et.ExpSamples, s)
	}
	return et
}

// parseLabels reads a series selector such as up{job="a"} (equality
// matchers only) as a label set. An input series must have at least one
// label; an expected sample's may be empty.
func parseLabels(s string, input bool) (series.Labels, error) {
	if strings.TrimSpace(s) == "" {
		if input {
			return nil, fmt.Errorf("empty series")
		}
		return nil, nil
	}
	e, err := metricsql.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("bad series %q: %w", s, err)
	}
	me, ok := e.(*metricsql.MetricExpr)
	if !ok || len(me.LabelFilterss) > 1 || (input && len(me.LabelFilterss) == 0) {
		return nil, fmt.Errorf("bad series %q: want a metric name and labels like up{job=\"a\"}", s)
	}
	m := map[string]string{}
	if len(me.LabelFilterss) == 1 {
		for _, lf := range me.LabelFilterss[0] {
			if lf.IsNegative || lf.IsRegexp {
				return nil, fmt.Errorf("bad series %q: label %s must use =", s, lf.Label)
			}
			if input && lf.Value == "" {
				continue // an empty label is an absent one
			}
			if _, dup := m[lf.Label]; dup {
				return nil, fmt.Errorf("bad series %q: label %s repeated", s, lf.Label)
			}
			m[lf.Label] = lf.Value
		}
	}
	ls := make(series.Labels, 0, len(m))
	for k, v := range m {
		ls = append(ls, series.Label{Name: k, Value: v})
	}
	ls.Sort()
	return ls, nil
}

// ReadFile reads and decodes a test file.
func ReadFile(path string) (*File, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{fmt.Errorf("read test file: %w", err)}
	}
	return Decode(path, data)
}

// ResolvedRuleFiles makes rule_files relative to the test file's folder.
func (f *File) ResolvedRuleFiles() []string {
	out := make([]string, len(f.RuleFiles))
	for i, rf := range f.RuleFiles {
		if filepath.IsAbs(rf) {
			out[i] = rf
		} else {
			out[i] = filepath.Join(filepath.Dir(f.Path), rf)
		}
	}
	return out
}
