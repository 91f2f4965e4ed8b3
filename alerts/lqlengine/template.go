package lqlengine

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/Masterminds/sprig/v3"
)

// sprigFunctions are the sprig functions Loki's templates offer.
var sprigFunctions = []string{
	"b64enc", "b64dec", "lower", "upper", "title", "trunc", "substr", "contains",
	"hasPrefix", "hasSuffix", "indent", "nindent", "replace", "repeat", "trim",
	"trimAll", "trimSuffix", "trimPrefix", "int", "float64", "add", "sub", "mul",
	"div", "mod", "addf", "subf", "mulf", "divf", "max", "min", "maxf", "minf",
	"ceil", "floor", "round", "fromJson", "date", "toDate", "now", "unixEpoch", "default",
}

// templateFuncs holds the line and timestamp that __line__ and
// __timestamp__ return during one execution.
type templateFuncs struct {
	line string
	ts   int64
}

func (tf *templateFuncs) funcMap() template.FuncMap {
	m := template.FuncMap{
		"ToLower":    strings.ToLower,
		"ToUpper":    strings.ToUpper,
		"Replace":    strings.Replace,
		"Trim":       strings.Trim,
		"TrimLeft":   strings.TrimLeft,
		"TrimRight":  strings.TrimRight,
		"TrimPrefix": strings.TrimPrefix,
		"TrimSuffix": strings.TrimSuffix,
		"TrimSpace":  strings.TrimSpace,
		"regexReplaceAll": func(regex string, s string, repl string) (string, error) {
			r, err := regexp.Compile(regex)
			if err != nil {
				return "", err
			}
			return r.ReplaceAllString(s, repl), nil
		},
		"regexReplaceAllLiteral": func(regex string, s string, repl string) (string, error) {
			r, err := regexp.Compile(regex)
			if err != nil {
				return "", err
			}
			return r.ReplaceAllLiteralString(s, repl), nil
		},
		"count": func(regexsubstr string, s string) (int, error) {
			r, err := regexp.Compile(regexsubstr)
			if err != nil {
				return 0, err
			}
			return len(r.FindAllStringIndex(s, -1)), nil
		},
		"urldecode":        url.QueryUnescape,
		"urlencode":        url.QueryEscape,
		"bytes":            convertBytes,
		"duration":         convertDuration,
		"duration_seconds": convertDuration,
		"unixEpochMillis":  func(d time.Time) string { return strconv.FormatInt(d.UnixMilli(), 10) },
		"unixEpochNanos":   func(d time.Time) string { return strconv.FormatInt(d.UnixNano(), 10) },
		"toDateInZone":     toDateInZone,
		"unixToTime":       unixToTime,
		"alignLeft":        alignLeft,
		"alignRight":       alignRight,
		"__line__":         func() string { return tf.line },
		"__timestamp__":    func() time.Time { return time.Unix(0, tf.ts) },
	}
	sm := sprig.GenericFuncMap()
	for _, name := range sprigFunctions {
		if f, ok := sm[name]; ok {
			m[name] = f
		}
	}
	return m
}

// newTemplate parses a line_format or label_format template with Loki's
// functions.
func newTemplate(src string) (*lineTemplate, error) {
	tf := &templateFuncs{}
	t, err := template.New("line").Option("missingkey=zero").Funcs(tf.funcMap()).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("invalid line template: %w", err)
	}
	lt := &lineTemplate{src: src, funcs: tf, t: t, fields: listNodeFields([]parse.Node{t.Root})}
	if len(t.Root.Nodes) == 1 && t.Root.Nodes[0].Type() == parse.NodeAction {
		an := t.Root.Nodes[0].(*parse.ActionNode)
		if len(an.Pipe.Cmds) == 1 && len(an.Pipe.Cmds[0].Args) == 1 {
			if fn, ok := an.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok && len(fn.Ident) == 1 {
				lt.simpleKey = fn.Ident[0]
			}
		}
	}
	return lt, nil
}

func (lt *lineTemplate) exec(data map[string]string, line string, ts int64) (string, error) {
	lt.funcs.line, lt.funcs.ts = line, ts
	var buf bytes.Buffer
	if err := lt.t.Execute(&buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func listNodeFields(nodes []parse.Node) []string {
	var res []string
	for _, node := range nodes {
		switch n := node.(type) {
		case *parse.PipeNode:
			res = append(res, pipeFields(n)...)
		case *parse.ActionNode:
			res = append(res, pipeFields(n.Pipe)...)
		case *parse.ListNode:
			res = append(res, listNodeFields(n.Nodes)...)
		case *parse.CommandNode:
			res = append(res, listNodeFields(n.Args)...)
		case *parse.IfNode:
			res = append(res, branchFields(n.BranchNode)...)
		case *parse.WithNode:
			res = append(res, branchFields(n.BranchNode)...)
		case *parse.RangeNode:
			res = append(res, branchFields(n.BranchNode)...)
		case *parse.FieldNode:
			res = append(res, n.Ident...)
		}
	}
	return res
}

func branchFields(b parse.BranchNode) []string {
	var res []string
	if b.Pipe != nil {
		res = append(res, pipeFields(b.Pipe)...)
	}
	if b.List != nil {
		res = append(res, listNodeFields(b.List.Nodes)...)
	}
	if b.ElseList != nil {
		res = append(res, listNodeFields(b.ElseList.Nodes)...)
	}
	return res
}

func pipeFields(p *parse.PipeNode) []string {
	var res []string
	for _, c := range p.Cmds {
		res = append(res, listNodeFields(c.Args)...)
	}
	return res
}

func convertFloat(v string) (float64, error) { return strconv.ParseFloat(v, 64) }

func convertDuration(v string) (float64, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

func convertBytes(v string) (float64, error) {
	b, err := humanizeParseBytes(v)
	if err != nil {
		return 0, err
	}
	return float64(b), nil
}

func unixToTime(epoch string) (time.Time, error) {
	var ct time.Time
	i, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return ct, fmt.Errorf("unable to parse time '%v': %w", epoch, err)
	}
	switch len(epoch) {
	case 5:
		return time.Unix(i*86400, 0), nil
	case 10:
		return time.Unix(i, 0), nil
	case 13:
		return time.Unix(0, i*1000*1000), nil
	case 16:
		return time.Unix(0, i*1000), nil
	case 19:
		return time.Unix(0, i), nil
	}
	return ct, fmt.Errorf("unable to parse time '%v': %w", epoch, err)
}

func toDateInZone(layout, zone, str string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc, _ = time.LoadLocation("UTC")
	}
	t, _ := time.ParseInLocation(layout, str, loc)
	return t
}

func alignLeft(count int, src string) string {
	runes := []rune(src)
	l := len(runes)
	if count < 0 || count == l {
		return src
	}
	if pad := count - l; pad > 0 {
		return src + strings.Repeat(" ", pad)
	}
	return string(runes[:count])
}

func alignRight(count int, src string) string {
	runes := []rune(src)
	l := len(runes)
	if count < 0 || count == l {
		return src
	}
	if pad := count - l; pad > 0 {
		return strings.Repeat(" ", pad) + src
	}
	return string(runes[l-count:])
}
