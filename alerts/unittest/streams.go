package unittest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Log input and LogQL checks: the format proposed for `lokitool rules test`
// (grafana/loki pull request 20484: input_streams with labels and lines,
// logql_expr_test with exp_samples or exp_logs) plus what rules need that
// it lacks: entries at explicit offsets and a compact repeat.
//
//	input_streams:
//	  - labels: '{job="systemd-journal", unit="sshd.service"}'
//	    lines:                      # one line per interval from the start
//	      - 'first line'            # at 0
//	      - {gap: 2}                # no line at 1 and 2 intervals
//	      - {line: 'again', repeat: 3}  # at 3, 4 and 5 intervals
//	    entries:                    # lines at explicit offsets from the start
//	      - {at: 40s, line: 'one line at 40s'}
//	      - {at: 2m, line: 'a burst', repeat: 10, every: 1s}  # 2m, 2m1s, ... 2m9s

// MaxEntries bounds the log entries one test may expand to.
const MaxEntries = 1_000_000

// defaultEvery spaces the copies of a repeated entry: Loki keeps only one
// of two entries of a stream with the same time and line.
const defaultEvery = time.Second

// InputStream is one input log stream and its entries, relative to the
// test's start.
type InputStream struct {
	Pos     yamlnode.Pos
	Labels  series.Labels
	Entries []StreamEntry
}

// StreamEntry is one log line at an offset from the test's start.
type StreamEntry struct {
	Pos  yamlnode.Pos // of the item that made it
	At   time.Duration
	Line string
}

// LogExprTest is a logql_expr_test entry: a metric query's samples or a
// log query's lines.
type LogExprTest struct {
	ExprTest
	// exprPos maps a byte offset of Expr to its place in the file.
	exprPos func(off int) yamlnode.Pos
	ExpLogs []ExpLog
	// WantLogs is set when exp_logs is given: the query must return log
	// lines (an empty exp_logs expects none).
	WantLogs bool
}

// ExprOffsetPos is the file position of a byte offset of the expression
// (the entry's position when unknown).
func (lt LogExprTest) ExprOffsetPos(off int) yamlnode.Pos {
	if lt.exprPos == nil {
		return lt.Pos
	}
	return lt.exprPos(off)
}

// ExpLog is one expected log line of a log query.
type ExpLog struct {
	Pos    yamlnode.Pos
	Labels series.Labels
	Line   string
	// Time is the entry's time when timestamp is given.
	Time    time.Time
	HasTime bool
	// At is the offset from the test's start when timestamp is a duration
	// (resolved to Time when the test runs).
	At    time.Duration
	HasAt bool
}

// inputStream decodes one input_streams entry. interval is the test's
// spacing of lines.
func (d *decoder) inputStream(n *yaml.Node, interval time.Duration, budget *int) InputStream {
	fs := d.fields(n, "input_streams[]", "labels", "lines", "entries")
	s := InputStream{Pos: d.pos(n)}
	if ln := fs["labels"]; ln == nil {
		d.errorf(n, "input_streams[]: missing labels (a stream selector such as '{job=\"app\"}')")
	} else {
		text := d.str(ln, "labels")
		ls, err := ParseStreamLabels(text)
		switch {
		case err != nil:
			d.labelsError(ln, "labels", err)
		case len(ls) == 0:
			d.errorf(ln, "labels: a stream needs at least one label, as in Loki")
		}
		s.Labels = ls
	}
	if fs["lines"] == nil && fs["entries"] == nil {
		d.errorf(n, "input_streams[]: want lines or entries")
	}
	slot := 0
	for _, item := range d.list(fs["lines"], "lines") {
		item = resolve(item)
		if item.Kind == yaml.ScalarNode {
			if item.Tag == "!!null" {
				d.errorf(item, "lines[]: empty item (write '' for an empty line, {gap: 1} for no line)")
				slot++
				continue
			}
			s.Entries = d.appendEntry(s.Entries, item, time.Duration(slot)*interval, item.Value, budget)
			slot++
			continue
		}
		if item.Kind != yaml.MappingNode {
			d.errorf(item, "lines[]: want a line, {line: ..., repeat: N} or {gap: N}, got %s", kindName(item))
			slot++
			continue
		}
		ifs := d.fields(item, "lines[]", "line", "repeat", "gap")
		if gn := ifs["gap"]; gn != nil {
			if ifs["line"] != nil || ifs["repeat"] != nil {
				d.errorf(item, "lines[]: gap takes neither line nor repeat")
			}
			slot += d.count(gn, "gap", budget)
			continue
		}
		lnode := ifs["line"]
		if lnode == nil {
			d.errorf(item, "lines[]: want line (with repeat) or gap")
			continue
		}
		line := d.str(lnode, "line")
		n := 1
		if rn := ifs["repeat"]; rn != nil {
			n = d.count(rn, "repeat", budget)
		}
		for range n {
			s.Entries = d.appendEntry(s.Entries, item, time.Duration(slot)*interval, line, budget)
			slot++
		}
	}
	for _, item := range d.list(fs["entries"], "entries") {
		ifs := d.fields(item, "entries[]", "at", "line", "repeat", "every")
		at, ok := d.duration(ifs["at"], "at")
		if ifs["at"] == nil {
			d.errorf(item, "entries[]: missing at (the offset from the start, e.g. 40s)")
		}
		lnode := ifs["line"]
		if lnode == nil {
			d.errorf(item, "entries[]: missing line")
			continue
		}
		line := d.str(lnode, "line")
		n, every := 1, defaultEvery
		if rn := ifs["repeat"]; rn != nil {
			n = d.count(rn, "repeat", budget)
		}
		if en := ifs["every"]; en != nil {
			if e, eok := d.duration(en, "every"); eok {
				if e == 0 {
					d.errorf(en, "every: must be positive (Loki keeps one of two equal lines at the same time)")
				} else {
					every = e
				}
			}
			if ifs["repeat"] == nil {
				d.errorf(en, "every: only with repeat")
			}
		}
		if !ok {
			continue
		}
		for i := range n {
			s.Entries = d.appendEntry(s.Entries, item, at+time.Duration(i)*every, line, budget)
		}
	}
	return s
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// appendEntry adds an entry unless the test's entry budget is spent
// (reported once).
func (d *decoder) appendEntry(es []StreamEntry, n *yaml.Node, at time.Duration, line string, budget *int) []StreamEntry {
	if *budget <= 0 {
		if *budget == 0 {
			d.errorf(n, "input_streams: more than %d log entries in one test", MaxEntries)
			*budget = -1
		}
		return es
	}
	*budget--
	return append(es, StreamEntry{Pos: d.pos(n), At: at, Line: line})
}

// count reads a positive repeat or gap count.
func (d *decoder) count(n *yaml.Node, what string, budget *int) int {
	n = resolve(n)
	var v int64
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		d.errorf(n, "%s: want a whole number, got %s", what, kindName(n))
		return 0
	}
	if v < 1 {
		d.errorf(n, "%s: must be at least 1, got %d", what, v)
		return 0
	}
	if v > MaxEntries {
		d.errorf(n, "%s: %d is more than %d", what, v, MaxEntries)
		*budget = -1
		return 0
	}
	return int(v)
}

// labelsError reports a stream-label error at its column when the scalar
// is on one line.
func (d *decoder) labelsError(n *yaml.Node, what string, err error) {
	if le, ok := err.(*LabelsError); ok {
		d.errs = append(d.errs, &yamlnode.Error{Pos: d.valuePos(n, le.Offset), Msg: what + ": " + le.Msg})
		return
	}
	d.errorf(n, "%s: %v", what, err)
}

// logExprTest decodes a logql_expr_test entry.
func (d *decoder) logExprTest(n *yaml.Node) LogExprTest {
	const key = "logql_expr_test"
	fs := d.fields(n, key+"[]", "expr", "eval_time", "exp_samples", "exp_logs")
	lt := LogExprTest{ExprTest: ExprTest{Pos: d.pos(n)}}
	lt.Expr = d.str(fs["expr"], "expr")
	if en := fs["expr"]; en != nil {
		en = resolve(en)
		lt.exprPos = func(off int) yamlnode.Pos { return d.valuePos(en, off) }
	}
	if lt.Expr == "" {
		d.errorf(n, "%s[]: missing required field \"expr\"", key)
	}
	lt.EvalTime, _ = d.duration(fs["eval_time"], "eval_time")
	if fs["eval_time"] == nil {
		d.errorf(n, "%s[]: missing required field \"eval_time\"", key)
	}
	if fs["exp_samples"] != nil && fs["exp_logs"] != nil {
		d.errorf(fs["exp_logs"], "%s[]: exp_samples (a metric query) and exp_logs (a log query) exclude each other", key)
	}
	for _, sn := range d.list(fs["exp_samples"], "exp_samples") {
		sfs := d.fields(sn, "exp_samples[]", "labels", "value")
		s := ExpSample{Pos: d.pos(sn)}
		if ln := sfs["labels"]; ln != nil {
			ls, err := ParseStreamLabels(d.str(ln, "labels"))
			if err != nil {
				d.labelsError(ln, "labels", err)
			}
			s.Labels = ls
		}
		if vn := sfs["value"]; vn != nil {
			s.Value = d.float(vn, "value")
		}
		lt.ExpSamples = append(lt.ExpSamples, s)
	}
	if fs["exp_logs"] != nil {
		lt.WantLogs = true
	}
	for _, ln := range d.list(fs["exp_logs"], "exp_logs") {
		lfs := d.fields(ln, "exp_logs[]", "labels", "line", "timestamp")
		e := ExpLog{Pos: d.pos(ln)}
		if lb := lfs["labels"]; lb != nil {
			ls, err := ParseStreamLabels(d.str(lb, "labels"))
			if err != nil {
				d.labelsError(lb, "labels", err)
			}
			e.Labels = ls
		}
		if l := lfs["line"]; l != nil {
			e.Line = d.str(l, "line")
		} else {
			d.errorf(ln, "exp_logs[]: missing line")
		}
		if tn := lfs["timestamp"]; tn != nil {
			d.logTimestamp(tn, &e)
		}
		lt.ExpLogs = append(lt.ExpLogs, e)
	}
	return lt
}

// logTimestamp reads exp_logs' timestamp: Unix nanoseconds (as lokitool
// writes it) or a duration from the test's start (40s, 2m).
func (d *decoder) logTimestamp(n *yaml.Node, e *ExpLog) {
	s := d.str(n, "timestamp")
	if ns, err := strconv.ParseInt(s, 10, 64); err == nil {
		e.Time, e.HasTime = time.Unix(0, ns).UTC(), true
		return
	}
	if s == "" || !strings.ContainsAny(s, "smhdwy") {
		d.errorf(n, "timestamp: want Unix nanoseconds or a duration from the start such as 40s, got %q", s)
		return
	}
	if at, ok := d.duration(n, "timestamp"); ok {
		e.At, e.HasAt = at, true
	}
}

// LabelsError is a bad stream label set; Offset is the byte offset of the
// problem.
type LabelsError struct {
	Offset int
	Msg    string
}

func (e *LabelsError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// ParseStreamLabels reads a stream's label set written as a LogQL stream
// selector with equality matchers only: {job="app", host="nas"}. Values
// are Go string literals ("..." with escapes, or `...`), as in LogQL. An
// empty text or {} is the empty set. Labels come back sorted.
func ParseStreamLabels(s string) (series.Labels, error) {
	p := labelParser{s: s}
	p.space()
	if p.i == len(s) {
		return nil, nil
	}
	if s[p.i] != '{' {
		return nil, p.errorf("want a label set such as {job=\"app\"}, got %q", p.rest())
	}
	p.i++
	var ls series.Labels
	seen := map[string]bool{}
	for {
		p.space()
		if p.i < len(s) && s[p.i] == '}' {
			p.i++
			break
		}
		if p.i >= len(s) {
			return nil, p.errorf("missing closing }")
		}
		nameAt := p.i
		name := p.name()
		if name == "" {
			return nil, p.errorf("want a label name, got %q", p.rest())
		}
		p.space()
		opAt := p.i
		switch {
		case strings.HasPrefix(s[p.i:], "=~"), strings.HasPrefix(s[p.i:], "!="), strings.HasPrefix(s[p.i:], "!~"):
			p.i = opAt
			return nil, p.errorf("label %s: a stream's labels take = only, not %s", name, s[opAt:opAt+2])
		case p.i < len(s) && s[p.i] == '=':
			p.i++
		default:
			return nil, p.errorf("label %s: want =, got %q", name, p.rest())
		}
		p.space()
		valAt := p.i
		val, err := p.str()
		if err != nil {
			return nil, err
		}
		if val == "" {
			p.i = valAt
			return nil, p.errorf("label %s: empty value (a stream has no empty labels; leave it out)", name)
		}
		if seen[name] {
			p.i = nameAt
			return nil, p.errorf("label %s repeated", name)
		}
		seen[name] = true
		ls = append(ls, series.Label{Name: name, Value: val})
		p.space()
		if p.i < len(s) && s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(s) && s[p.i] == '}' {
			p.i++
			break
		}
		if p.i >= len(s) {
			return nil, p.errorf("missing closing }")
		}
		return nil, p.errorf("want , or } after label %s, got %q", name, p.rest())
	}
	p.space()
	if p.i < len(s) {
		return nil, p.errorf("unexpected %q after the label set (a stream takes labels only, no pipeline)", p.rest())
	}
	ls.Sort()
	return ls, nil
}

type labelParser struct {
	s string
	i int
}

func (p *labelParser) errorf(format string, args ...any) error {
	return &LabelsError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *labelParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *labelParser) space() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// name reads [a-zA-Z_][a-zA-Z0-9_]*.
func (p *labelParser) name() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (p.i > start && isDigit(c)) {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

// str reads a Go string literal: "..." with escapes or `...`.
func (p *labelParser) str() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '`') {
		return "", p.errorf("want a quoted value, got %q", p.rest())
	}
	q := p.s[p.i]
	start := p.i
	j := p.i + 1
	for j < len(p.s) && p.s[j] != q {
		if q == '"' && p.s[j] == '\\' {
			j++
		}
		if q == '"' && j < len(p.s) && p.s[j] == '\n' {
			break
		}
		j++
	}
	if j >= len(p.s) || p.s[j] != q {
		return "", p.errorf("unterminated string")
	}
	v, err := strconv.Unquote(p.s[start : j+1])
	if err != nil {
		return "", p.errorf("bad string %s: %v", p.s[start:j+1], err)
	}
	p.i = j + 1
	return v, nil
}
