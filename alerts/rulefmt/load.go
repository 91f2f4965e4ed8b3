package rulefmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/lqlengine"
	"github.com/hlalert/hlalert/alerts/tmpl"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Group types after normalisation.
const (
	TypeMetricsQL = "metricsql"
	TypeLogQL     = "logql"
)

// The keys vmalert v1.150.0 accepts (app/vmalert/config/config.go); "type:
// logql" is hlalert's own value, not a key.
var (
	fileKeys  = []string{"groups"}
	groupKeys = []string{"name", "type", "interval", "eval_offset", "eval_delay", "limit", "rules",
		"concurrency", "labels", "params", "headers", "notifier_headers", "eval_alignment", "debug"}
	ruleKeys = []string{"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations",
		"debug", "update_entries_limit"}
)

var metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// LoadFile reads and loads one rule file (MetricsQL unless a group says
// otherwise).
func LoadFile(path string) (*File, []error) {
	return loadFile(path, TypeMetricsQL)
}

func loadFile(path, defaultType string) (*File, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{&yamlnode.Error{Pos: yamlnode.Pos{File: path}, Msg: fmt.Sprintf("read rule file: %v", err)}}
	}
	return load(path, data, defaultType)
}

// LoadGlobs loads every file matching the patterns (filepath.Glob syntax),
// each once, in name order. A pattern matching nothing is an error, and so
// is a group name defined in two files.
func LoadGlobs(patterns []string) ([]*File, []error) {
	return LoadGlobsTyped(patterns, TypeMetricsQL)
}

// LoadGlobsTyped is LoadGlobs where a group without a type key has
// defaultType: Loki's rule files set no type, their groups are LogQL.
func LoadGlobsTyped(patterns []string, defaultType string) ([]*File, []error) {
	var errs []error
	var paths []string
	for _, p := range patterns {
		m, err := filepath.Glob(p)
		if err != nil {
			errs = append(errs, &yamlnode.Error{Pos: yamlnode.Pos{File: p}, Msg: fmt.Sprintf("bad rule file pattern: %v", err)})
			continue
		}
		if len(m) == 0 {
			errs = append(errs, &yamlnode.Error{Pos: yamlnode.Pos{File: p}, Msg: "no rule file matches this pattern"})
			continue
		}
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	paths = slices.Compact(paths)
	var files []*File
	for _, p := range paths {
		f, ferrs := loadFile(p, defaultType)
		errs = append(errs, ferrs...)
		if f != nil {
			files = append(files, f)
		}
	}
	errs = append(errs, CheckGroupNames(files)...)
	return files, errs
}

// CheckGroupNames reports a group name defined in more than one file.
// (vmalert itself tells such groups apart by file, but their alerts carry
// the same alertgroup label, and vmalert-tool cannot order them.)
func CheckGroupNames(files []*File) []error {
	var errs []error
	first := map[string]yamlnode.Pos{}
	for _, f := range files {
		seenHere := map[string]bool{}
		for _, g := range f.Groups {
			if seenHere[g.Name] {
				continue // reported by Load
			}
			seenHere[g.Name] = true
			if p, ok := first[g.Name]; ok {
				errs = append(errs, &yamlnode.Error{Pos: g.Pos, Msg: fmt.Sprintf("group %q is already defined in %s", g.Name, p)})
				continue
			}
			first[g.Name] = g.Pos
		}
	}
	return errs
}

// LoadTyped decodes a rule file strictly: every unknown key, wrong type,
// bad duration, bad name, bad expression or template is reported with its
// position. The File holds what could be decoded even when there are
// errors. Multi-document files are read as vmalert reads them: the groups
// of all documents. A group without a type key has defaultType
// (TypeMetricsQL, or TypeLogQL for Loki's rule files).
func LoadTyped(path string, data []byte, defaultType string) (*File, []error) {
	return load(path, data, defaultType)
}

func load(path string, data []byte, defaultType string) (*File, []error) {
	l := &loader{path: path, lines: strings.Split(string(data), "\n"), defaultType: defaultType}
	l.Reader = yamlnode.Reader{
		Report:      func(n *yaml.Node, msg string) { l.errorf(n, "%s", msg) },
		OtherKind:   "an alias",
		NullIsEmpty: true, // like vmalert (yaml.v2): null is "", any scalar its text
	}
	f := &File{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	groupAt := map[string]yamlnode.Pos{}
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			l.yamlError(err)
			break
		}
		l.document(&doc, f, groupAt)
	}
	yamlnode.SortErrors(l.errs)
	yamlnode.SortErrors(l.warns)
	f.Warnings = l.warns
	return f, l.errs
}

type loader struct {
	yamlnode.Reader // reports through errorf
	path            string
	lines           []string
	errs            []error
	warns           []*yamlnode.Error
	defaultType     string // of a group without a type key
}

func (l *loader) pos(n *yaml.Node) yamlnode.Pos { return yamlnode.At(l.path, n) }

func (l *loader) errAt(p yamlnode.Pos, format string, args ...any) {
	l.errs = append(l.errs, &yamlnode.Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	l.errAt(l.pos(n), format, args...)
}

func (l *loader) warnf(n *yaml.Node, format string, args ...any) {
	l.warns = append(l.warns, &yamlnode.Error{Pos: l.pos(n), Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) yamlError(err error) { l.errs = append(l.errs, yamlnode.SyntaxError(l.path, err)) }

// fields returns the pairs of a mapping, reporting a non-mapping, a
// duplicate key and a key not in allowed. YAML merge keys (<<) are
// followed; explicit keys win over merged ones.
func (l *loader) fields(n *yaml.Node, what string, allowed []string) (map[string]yamlnode.Field, bool) {
	m := yamlnode.Mapping{Allowed: allowed, NullIsEmpty: true, StringKeys: true, ResolveKeys: true, Merge: true}
	return m.Check(n, what, l.Report)
}

// duration decodes a Prometheus or MetricsQL duration (1h30m, 1d, 1w, 90).
func (l *loader) duration(n *yaml.Node, what string) (time.Duration, bool) {
	n = yamlnode.Resolve(n)
	s, ok := l.Str(n, what)
	if !ok {
		return 0, false
	}
	ms, err := metricsql.DurationValue(s, 0)
	if err != nil {
		l.errorf(n, "%s: invalid duration %q: %v", what, s, err)
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

func (l *loader) nonNegDuration(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := l.duration(n, what)
	if ok && d < 0 {
		l.errorf(yamlnode.Resolve(n), "%s: must not be negative, got %s", what, d)
		return 0, false
	}
	return d, ok
}

type strEntry struct {
	name     string
	key, val *yaml.Node
	value    string
}

// strMap decodes a mapping of string to string, in file order.
func (l *loader) strMap(n *yaml.Node, what string) []strEntry {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s", yamlnode.NotMappingMsg(what, n))
		return nil
	}
	var out []strEntry
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Resolve(n.Content[i]), yamlnode.Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || yamlnode.IsNull(k) {
			l.errorf(k, "%s: keys must be strings, got %s", what, l.KindName(k))
			continue
		}
		if line, ok := seen[k.Value]; ok {
			l.errorf(k, "%s", yamlnode.RepeatedKeyMsg(what, k.Value, line))
			continue
		}
		seen[k.Value] = k.Line
		s, ok := l.Str(v, fmt.Sprintf("%s: %s", what, k.Value))
		if !ok {
			continue
		}
		if !utf8.ValidString(s) {
			l.errorf(v, "%s: %s: value is not valid UTF-8", what, k.Value)
			continue
		}
		out = append(out, strEntry{name: k.Value, key: k, val: v, value: s})
	}
	return out
}

func (l *loader) labels(n *yaml.Node, what string) (map[string]string, []strEntry) {
	es := l.strMap(n, what)
	if es == nil {
		return nil, nil
	}
	m := make(map[string]string, len(es))
	var ok []strEntry
	for _, e := range es {
		if !model.LegacyValidation.IsValidLabelName(e.name) {
			l.errorf(e.key, "%s: invalid label name %q", what, e.name)
			continue
		}
		m[e.name] = e.value
		ok = append(ok, e)
	}
	return m, ok
}

func (l *loader) document(doc *yaml.Node, f *File, groupAt map[string]yamlnode.Pos) {
	if len(doc.Content) == 0 {
		return
	}
	top, ok := l.fields(doc.Content[0], "rule file", fileKeys)
	if !ok {
		return
	}
	gs, ok := top["groups"]
	if !ok {
		return
	}
	for _, gn := range l.List(gs.Value, "groups") {
		g, ok := l.group(gn)
		if !ok {
			continue
		}
		if p, dup := groupAt[g.Name]; dup {
			l.errAt(g.Pos, "duplicate group name %q (first defined at %d:%d)", g.Name, p.Line, p.Col)
			continue
		}
		groupAt[g.Name] = g.Pos
		f.Groups = append(f.Groups, g)
	}
}

// group decodes one group. ok is false when it has no usable name.
func (l *loader) group(n *yaml.Node) (Group, bool) {
	n = yamlnode.Resolve(n)
	g := Group{Pos: l.pos(n), Type: l.defaultType}
	groupWhat := "group"
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := yamlnode.Resolve(n.Content[i]), yamlnode.Resolve(n.Content[i+1]); k.Value == "name" && v.Kind == yaml.ScalarNode && !yamlnode.IsNull(v) {
				groupWhat = fmt.Sprintf("group %q", v.Value)
			}
		}
	}
	fs, ok := l.fields(n, groupWhat, groupKeys)
	if !ok {
		return g, false
	}
	named := false
	if f, ok := fs["name"]; ok {
		g.Name, _ = l.Str(f.Value, "group name")
		g.Pos = l.pos(yamlnode.Resolve(f.Value))
		named = g.Name != ""
	}
	if !named {
		l.errorf(n, "group name must be set")
	}
	what := func(key string) string { return fmt.Sprintf("group %q: %s", g.Name, key) }
	g.IntervalPos = g.Pos
	if f, ok := fs["type"]; ok {
		t, _ := l.Str(f.Value, what("type"))
		switch t {
		case "", "prometheus", TypeMetricsQL:
			g.Type = TypeMetricsQL
		case TypeLogQL:
			g.Type = TypeLogQL
		case "graphite", "vlogs":
			l.errorf(yamlnode.Resolve(f.Value), "%s: %q rule groups are not supported by hlalert; want metricsql (or prometheus) or logql", what("type"), t)
		default:
			l.errorf(yamlnode.Resolve(f.Value), "%s: unknown type %q; want metricsql (or prometheus) or logql", what("type"), t)
		}
	}
	if f, ok := fs["interval"]; ok {
		g.Interval, _ = l.nonNegDuration(f.Value, what("interval"))
		g.IntervalPos = l.pos(yamlnode.Resolve(f.Value))
	}
	if f, ok := fs["eval_offset"]; ok {
		if d, ok := l.duration(f.Value, what("eval_offset")); ok {
			g.EvalOffset = d
			if d.Abs() > g.Interval {
				l.errorf(yamlnode.Resolve(f.Value), "%s: its absolute value (%s) must not exceed the group's interval (%s); set interval explicitly", what("eval_offset"), d.Abs(), g.Interval)
			}
		}
	}
	if f, ok := fs["eval_delay"]; ok {
		g.EvalDelay, _ = l.duration(f.Value, what("eval_delay"))
		if _, both := fs["eval_offset"]; both {
			l.errorf(f.Key, "%s: eval_offset and eval_delay cannot be used together", what("eval_delay"))
		}
	}
	if f, ok := fs["limit"]; ok {
		g.Limit, _ = l.Int(f.Value, what("limit"), 0)
	}
	if f, ok := fs["concurrency"]; ok {
		g.Concurrency, _ = l.Int(f.Value, what("concurrency"), 0)
	}
	if f, ok := fs["labels"]; ok {
		var es []strEntry
		g.Labels, es = l.labels(f.Value, what("labels"))
		// vmalert adds group labels to alerting rules' labels before
		// templating them.
		for _, e := range es {
			l.template(e, what("label "+e.name))
		}
	}
	if f, ok := fs["params"]; ok {
		g.Params = l.params(f.Value, what("params"))
	}
	if f, ok := fs["headers"]; ok {
		g.Headers = l.headers(f.Value, what("headers"))
	}
	if f, ok := fs["notifier_headers"]; ok {
		g.NotifierHeaders = l.headers(f.Value, what("notifier_headers"))
	}
	if f, ok := fs["eval_alignment"]; ok {
		if b, ok := l.Bool(f.Value, what("eval_alignment")); ok {
			g.EvalAlignment = &b
		}
	}
	if f, ok := fs["debug"]; ok {
		g.Debug, _ = l.Bool(f.Value, what("debug"))
	}
	if f, ok := fs["rules"]; ok {
		ids := map[string]yamlnode.Pos{}
		for _, rn := range l.List(f.Value, what("rules")) {
			r, ok := l.rule(rn, g)
			if !ok {
				continue
			}
			id := ruleID(r)
			if p, dup := ids[id]; dup {
				l.errAt(r.Pos, "group %q: duplicate rule %q: same name, expr and labels as the rule at %d:%d", g.Name, r.Name(), p.Line, p.Col)
				continue
			}
			ids[id] = r.Pos
			g.Rules = append(g.Rules, r)
		}
	}
	return g, named
}

// ruleID is what vmalert considers a rule's identity within a group.
func ruleID(r Rule) string {
	var b strings.Builder
	if r.Alert != "" {
		b.WriteString("alert\xff" + r.Alert)
	} else {
		b.WriteString("record\xff" + r.Record)
	}
	b.WriteString("\xff" + r.Expr)
	keys := make([]string, 0, len(r.Labels))
	for k := range r.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("\xff" + k + "\xfe" + r.Labels[k])
	}
	return b.String()
}

func (l *loader) params(n *yaml.Node, what string) map[string][]string {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s: expected a mapping of names to lists of values, got %s", what, l.KindName(n))
		return nil
	}
	out := map[string][]string{}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlnode.Resolve(n.Content[i]), yamlnode.Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || yamlnode.IsNull(k) {
			l.errorf(k, "%s: keys must be strings, got %s", what, l.KindName(k))
			continue
		}
		if line, dup := first[k.Value]; dup {
			l.errorf(k, "%s", yamlnode.RepeatedKeyMsg(what, k.Value, line))
			continue
		}
		first[k.Value] = k.Line
		if v.Kind != yaml.SequenceNode {
			l.errorf(v, "%s: %s: expected a list of values, got %s", what, k.Value, l.KindName(v))
			continue
		}
		vals := []string{}
		for _, e := range v.Content {
			if s, ok := l.Str(e, what+": "+k.Value); ok {
				vals = append(vals, s)
			}
		}
		out[k.Value] = vals
	}
	return out
}

func (l *loader) headers(n *yaml.Node, what string) []Header {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s: expected a list of \"Key: value\" strings, got %s", what, l.KindName(n))
		return nil
	}
	var out []Header
	for _, e := range n.Content {
		s, ok := l.Str(e, what)
		if !ok || s == "" {
			continue
		}
		k, v, found := strings.Cut(s, ":")
		if !found || strings.TrimSpace(k) == "" {
			l.errorf(yamlnode.Resolve(e), "%s: header %q is not in \"Key: value\" form", what, s)
			continue
		}
		out = append(out, Header{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
	}
	return out
}

// rule decodes one rule of g. ok is false when the rule is unusable.
func (l *loader) rule(n *yaml.Node, g Group) (Rule, bool) {
	n = yamlnode.Resolve(n)
	r := Rule{Pos: l.pos(n)}
	fs, ok := l.fields(n, fmt.Sprintf("group %q: rule", g.Name), ruleKeys)
	if !ok {
		return r, false
	}
	af, hasAlert := fs["alert"]
	rf, hasRecord := fs["record"]
	if hasAlert {
		r.Alert, _ = l.Str(af.Value, "alert")
		r.Pos = l.pos(yamlnode.Resolve(af.Value))
	}
	if hasRecord {
		r.Record, _ = l.Str(rf.Value, "record")
		r.Pos = l.pos(yamlnode.Resolve(rf.Value))
	}
	r.ExprPos, r.ForPos, r.AnnotationsPos = r.Pos, r.Pos, r.Pos
	kind := "rule"
	switch {
	case r.Alert != "" && r.Record != "":
		l.errAt(r.Pos, "group %q: a rule has either alert or record, not both (alert %q, record %q)", g.Name, r.Alert, r.Record)
		return r, false
	case r.Alert == "" && r.Record == "":
		l.errorf(n, "group %q: a rule needs a non-empty alert or record name", g.Name)
		return r, false
	case r.Alert != "":
		kind = fmt.Sprintf("alerting rule %q", r.Alert)
	default:
		kind = fmt.Sprintf("recording rule %q", r.Record)
		if !metricNameRE.MatchString(r.Record) {
			l.errAt(r.Pos, "group %q: invalid metric name %q in record", g.Name, r.Record)
		}
	}
	what := func(key string) string { return fmt.Sprintf("%s: %s", kind, key) }
	onlyAlerting := func(key string) bool {
		f, ok := fs[key]
		if ok && r.Record != "" {
			l.errorf(f.Key, "%s: %s is only valid in alerting rules", kind, key)
			return false
		}
		return ok
	}

	if f, ok := fs["expr"]; ok {
		v := yamlnode.Resolve(f.Value)
		r.Expr, _ = l.Str(v, what("expr"))
		r.ExprPos = l.pos(v)
		r.exprPos = l.scalarOffsets(v)
	}
	if strings.TrimSpace(r.Expr) == "" {
		l.errAt(r.ExprPos, "%s: expr must not be empty", kind)
	} else if g.Type == TypeMetricsQL {
		if _, err := metricsql.Parse(r.Expr); err != nil {
			msg := strings.ReplaceAll(err.Error(), `unexpected token ""`, "unexpected end of expression")
			if strings.Contains(r.Expr, "%{") {
				msg += " (hlalert does not expand vmalert's %{ENV} placeholders)"
			}
			l.errAt(r.ExprOffsetPos(errOffset(r.Expr, err)), "%s: invalid MetricsQL expression: %s", kind, msg)
		}
	} else if g.Type == TypeLogQL {
		if _, err := lqlengine.Parse(r.Expr); err != nil {
			l.errAt(r.ExprOffsetPos(LogQLErrOffset(r.Expr, err)), "%s: invalid LogQL expression: %v", kind, err)
		}
	}
	if onlyAlerting("for") {
		f := fs["for"]
		r.For, _ = l.nonNegDuration(f.Value, what("for"))
		r.ForPos = l.pos(yamlnode.Resolve(f.Value))
	}
	if onlyAlerting("keep_firing_for") {
		r.KeepFiringFor, _ = l.nonNegDuration(fs["keep_firing_for"].Value, what("keep_firing_for"))
	}
	if f, ok := fs["labels"]; ok {
		var es []strEntry
		r.Labels, es = l.labels(f.Value, what("labels"))
		r.LabelPos = map[string]yamlnode.Pos{}
		for _, e := range es {
			r.LabelPos[e.name] = l.pos(e.val)
			if e.name == "__name__" {
				l.errorf(e.key, "%s: labels: __name__ is not allowed in rule labels", kind)
				delete(r.Labels, e.name)
				continue
			}
			if r.Alert != "" {
				l.template(e, what("label "+e.name))
			}
		}
	}
	if onlyAlerting("annotations") {
		f := fs["annotations"]
		r.AnnotationsPos = l.pos(yamlnode.Resolve(f.Value))
		es := l.strMap(f.Value, what("annotations"))
		r.Annotations = make(map[string]string, len(es))
		r.AnnotationPos = make(map[string]yamlnode.Pos, len(es))
		for _, e := range es {
			r.AnnotationPos[e.name] = l.pos(e.val)
			if !model.LegacyValidation.IsValidLabelName(e.name) {
				l.warnf(e.key, "%s: annotation name %q is not a valid Prometheus label name; Alertmanager rejects it", kind, e.name)
			}
			r.Annotations[e.name] = e.value
			l.template(e, what("annotation "+e.name))
		}
	}
	if f, ok := fs["debug"]; ok {
		if b, ok := l.Bool(f.Value, what("debug")); ok {
			r.Debug = &b
		}
	}
	if f, ok := fs["update_entries_limit"]; ok {
		if i, ok := l.Int(f.Value, what("update_entries_limit"), 0); ok {
			r.UpdateEntriesLimit = &i
		}
	}
	return r, true
}

// template checks one label or annotation value as a vmalert template.
func (l *loader) template(e strEntry, what string) {
	_, err := tmpl.Parse(e.name, e.value)
	if err == nil {
		return
	}
	var te *tmpl.Error
	if !errors.As(err, &te) {
		l.errorf(e.val, "%s: invalid template: %v", what, err)
		return
	}
	p := l.pos(e.val)
	if offs := l.scalarOffsets(e.val); offs != nil {
		if off := lineColOffset(e.value, te.Line, te.Col); off >= 0 && off < len(offs) && offs[off].Line != 0 {
			p = offs[off]
		}
	}
	l.errAt(p, "%s: invalid template: %s", what, te.Msg)
}

// lineColOffset is the byte offset of a 1-based line and rune column (0:
// the line's first non-blank character) in s, or -1.
func lineColOffset(s string, line, col int) int {
	off := 0
	for i := 1; i < line; i++ {
		j := strings.IndexByte(s[off:], '\n')
		if j < 0 {
			return -1
		}
		off += j + 1
	}
	rest := s[off:]
	if col <= 0 {
		return off + len(rest) - len(strings.TrimLeft(rest, " \t"))
	}
	for i := range rest {
		if col == 1 {
			return off + i
		}
		col--
	}
	return -1
}

var unsupportedFuncRE = regexp.MustCompile(`unsupported function "([^"]+)"`)

var unparsedRE = regexp.MustCompile(`unparsed data(?: left)?: ("(?:[^"\\]|\\.)*")`)

// errOffset finds where in expr a metricsql error points, from the
// unparsed tail it quotes; 0 when it does not say.
func errOffset(expr string, err error) int {
	if m := unsupportedFuncRE.FindStringSubmatch(err.Error()); m != nil {
		if i := strings.Index(expr, m[1]+"("); i >= 0 {
			return i
		}
	}
	m := unparsedRE.FindAllStringSubmatch(err.Error(), -1)
	if m == nil {
		return 0
	}
	tail, uerr := strconv.Unquote(m[len(m)-1][1])
	if uerr != nil || !strings.HasSuffix(expr, tail) {
		return 0
	}
	off := len(expr) - len(tail)
	for off < len(expr) && isSpace(expr[off]) {
		off++
	}
	if off == len(expr) { // error at the end: point at the last character
		off = len(strings.TrimRight(expr, " \t\r\n")) - 1
	}
	return max(off, 0)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// scalarOffsets maps every byte of a scalar's value to its position in the
// file. It walks the value and the source together; whitespace runs (line
// folding, block indentation) match any whitespace run. It returns nil when
// the value is not a plain copy of the source (escapes in quoted scalars).
func (l *loader) scalarOffsets(n *yaml.Node) []yamlnode.Pos {
	if n.Kind != yaml.ScalarNode || n.Line < 1 || n.Line > len(l.lines) {
		return nil
	}
	line := n.Line - 1
	col := runeColToByte(l.lines[line], n.Column)
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		col++
	case yaml.LiteralStyle, yaml.FoldedStyle:
		line, col = line+1, 0
	}
	v := n.Value
	out := make([]yamlnode.Pos, len(v))
	at := func() (byte, bool) {
		if line >= len(l.lines) {
			return 0, false
		}
		if col >= len(l.lines[line]) {
			return '\n', true
		}
		return l.lines[line][col], true
	}
	advance := func() {
		if col >= len(l.lines[line]) {
			line, col = line+1, 0
			return
		}
		col++
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isSpace(c) {
			if line < len(l.lines) {
				out[i] = yamlnode.Pos{File: l.path, Line: line + 1, Col: utf8.RuneCountInString(l.lines[line][:min(col, len(l.lines[line]))]) + 1}
			}
			continue
		}
		s, ok := at()
		if !ok {
			return nil
		}
		if isSpace(s) && (i == 0 || isSpace(v[i-1])) {
			for ok && isSpace(s) {
				advance()
				s, ok = at()
			}
			if !ok {
				return nil
			}
		}
		if s != c {
			return nil
		}
		out[i] = yamlnode.Pos{File: l.path, Line: line + 1, Col: utf8.RuneCountInString(l.lines[line][:col]) + 1}
		advance()
	}
	return out
}

// runeColToByte turns a 1-based column in runes into a byte offset.
func runeColToByte(s string, col int) int {
	n := 1
	for i := range s {
		if n == col {
			return i
		}
		n++
	}
	return len(s)
}

// LogQLErrOffset is the byte offset of a LogQL parse error's line and
// column (a rune column) in expr; 0 when the error has no place.
func LogQLErrOffset(expr string, err error) int {
	var pe *lqlengine.ParseError
	if !errors.As(err, &pe) || pe.Line == 0 {
		return 0
	}
	line, col := 1, 1
	for i, r := range expr {
		if line == pe.Line && col == pe.Col {
			return i
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return len(expr)
}
