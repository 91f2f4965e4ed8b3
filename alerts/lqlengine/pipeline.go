package lqlengine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
	"github.com/grafana/jsonparser"
)

// stage is one compiled pipeline step.
type stage interface {
	process(ts int64, line string, b *builder) (string, bool)
	requiredLabels() []string
}

// reorderStages moves line filters ahead of the stages that do not change
// the line or read it through labels, as Loki does before running a
// pipeline (a line filter never moves across a label filter, line_format or
// unpack).
func reorderStages(stages []Stage) []Stage {
	var out, lineFilters, others []Stage
	flush := func() {
		out = append(out, lineFilters...)
		out = append(out, others...)
		lineFilters, others = nil, nil
	}
	for _, s := range stages {
		switch st := s.(type) {
		case *LabelFilterStage:
			flush()
			out = append(out, st)
		case *LineFilter:
			lineFilters = append(lineFilters, st)
		case *LineFormat:
			others = append(others, st)
			flush()
		case *Parser:
			others = append(others, st)
			if st.Kind == parserUnpack {
				flush()
			}
		default:
			others = append(others, st)
		}
	}
	flush()
	return out
}

func compileStages(stages []Stage) ([]stage, error) {
	var out []stage
	for _, s := range reorderStages(stages) {
		c, err := compileStage(s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func compileStage(s Stage) (stage, error) {
	switch st := s.(type) {
	case *LineFilter:
		return compileLineFilter(st)
	case *Parser:
		return compileParser(st)
	case *LabelFilterStage:
		return compileLabelFilter(st.Filter)
	case *LineFormat:
		t, err := newTemplate(st.Template)
		if err != nil {
			return nil, err
		}
		return &lineFormatStage{t: t}, nil
	case *LabelFormat:
		lf := &labelFormatStage{}
		for _, it := range st.Items {
			f := labelFmtC{LabelFmt: it}
			if !it.Rename {
				t, err := newTemplate(it.Src)
				if err != nil {
					return nil, err
				}
				f.t = t
			}
			lf.items = append(lf.items, f)
		}
		return lf, nil
	case *DropKeep:
		return &dropKeepStage{st}, nil
	case *Decolorize:
		return decolorizeStage{}, nil
	}
	return nil, unsupported(fmt.Sprintf("pipeline stage %T", s))
}

// ---- line filters

type lineMatcher func(line string) bool

type lineFilterStage struct {
	negate   bool
	matchers []lineMatcher
}

func (f *lineFilterStage) process(_ int64, line string, _ *builder) (string, bool) {
	if f.negate {
		for _, m := range f.matchers {
			if m(line) {
				return line, false
			}
		}
		return line, true
	}
	for _, m := range f.matchers {
		if m(line) {
			return line, true
		}
	}
	return line, false
}

func (f *lineFilterStage) requiredLabels() []string { return nil }

func compileLineFilter(lf *LineFilter) (stage, error) {
	st := &lineFilterStage{negate: lf.Op == OpNotContains || lf.Op == OpNotMatch || lf.Op == OpNotPattern}
	for _, v := range lf.Values {
		var m lineMatcher
		switch {
		case v.IP:
			ipm, err := newIPMatcher(v.Value)
			if err != nil {
				return nil, err
			}
			m = func(line string) bool { return ipm.findIn(line) }
		case lf.Op == OpContains || lf.Op == OpNotContains:
			s := v.Value
			m = func(line string) bool { return strings.Contains(line, s) }
		case lf.Op == OpMatch || lf.Op == OpNotMatch:
			re, err := regexp.Compile(v.Value)
			if err != nil {
				return nil, err
			}
			m = re.MatchString
		default:
			p, err := compileLinePattern(v.Value)
			if err != nil {
				return nil, err
			}
			m = p.test
		}
		st.matchers = append(st.matchers, m)
	}
	return st, nil
}

// ---- ip()

type ipMatcher struct {
	addr   netip.Addr
	prefix netip.Prefix
	lo, hi netip.Addr
	kind   int // 0 addr, 1 prefix, 2 range
}

func newIPMatcher(pattern string) (*ipMatcher, error) {
	if a, err := netip.ParseAddr(pattern); err == nil {
		return &ipMatcher{addr: a}, nil
	}
	if p, err := netip.ParsePrefix(pattern); err == nil {
		return &ipMatcher{prefix: p, kind: 1}, nil
	}
	if lo, hi, ok := strings.Cut(pattern, "-"); ok {
		a, err1 := netip.ParseAddr(lo)
		b, err2 := netip.ParseAddr(hi)
		if err1 == nil && err2 == nil && a.BitLen() == b.BitLen() && a.Zone() == "" && b.Zone() == "" && a.Compare(b) <= 0 {
			return &ipMatcher{lo: a, hi: b, kind: 2}, nil
		}
	}
	return nil, fmt.Errorf("ip: invalid pattern: %q", pattern)
}

func (m *ipMatcher) contains(ip netip.Addr) bool {
	switch m.kind {
	case 0:
		return m.addr.Compare(ip) == 0
	case 1:
		return m.prefix.Contains(ip)
	default:
		return m.lo.BitLen() == ip.BitLen() && m.lo.Compare(ip) <= 0 && ip.Compare(m.hi) <= 0
	}
}

const (
	ipv4Charset = "0123456789."
	ipv6Charset = "0123456789abcdefABCDEF:."
)

func isDigitB(c byte) bool { return c >= '0' && c <= '9' }
func isHexB(c byte) bool   { return isDigitB(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// findIn scans a line for addresses the way Loki's ip() filter does.
func (m *ipMatcher) findIn(line string) bool {
	n := len(line)
	try := func(start int, charset string) (bool, int) {
		l := 0
		for start+l < n && strings.IndexByte(charset, line[start+l]) >= 0 {
			l++
		}
		if ip, err := netip.ParseAddr(line[start : start+l]); err == nil && m.contains(ip) {
			return true, 0
		}
		return false, l
	}
	for i := 0; i < n; i++ {
		if i+3 < n && isDigitB(line[i]) && (line[i+1] == '.' || line[i+2] == '.' || line[i+3] == '.') {
			ok, l := try(i, ipv4Charset)
			if ok {
				return true
			}
			i += l
			continue
		}
		if i+4 < n {
			p := line[i : i+5]
			h := p[0] == ':' && p[1] == ':' && isHexB(p[2]) ||
				isHexB(p[0]) && p[1] == ':' ||
				isHexB(p[0]) && isHexB(p[1]) && p[2] == ':' ||
				isHexB(p[0]) && isHexB(p[1]) && isHexB(p[2]) && p[3] == ':' ||
				isHexB(p[0]) && isHexB(p[1]) && isHexB(p[2]) && isHexB(p[3]) && p[4] == ':'
			if h {
				ok, l := try(i, ipv6Charset)
				if ok {
					return true
				}
				i += l
				continue
			}
		}
	}
	return false
}

// ---- patterns (<name> captures and literals)

type patNode struct {
	lit     string
	capture string // "" for a literal
}

type pattern struct{ nodes []patNode }

func parsePattern(s string) (pattern, error) {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.nodes = append(p.nodes, patNode{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] == '<' {
			j := i + 1
			if j < len(s) && (s[j] == '_' || isASCIILetter(s[j])) {
				j++
				for j < len(s) && (s[j] == '_' || isASCIILetter(s[j]) || isDigitB(s[j])) {
					j++
				}
				if j < len(s) && s[j] == '>' {
					flush()
					p.nodes = append(p.nodes, patNode{capture: s[i+1 : j]})
					i = j + 1
					continue
				}
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return p, errors.New("invalid expression")
		}
		lit.WriteString(s[i : i+n])
		i += n
	}
	flush()
	for i := 0; i+1 < len(p.nodes); i++ {
		if p.nodes[i].capture != "" && p.nodes[i+1].capture != "" {
			return p, fmt.Errorf("found consecutive capture '<%s><%s>': invalid expression", p.nodes[i].capture, p.nodes[i+1].capture)
		}
	}
	return p, nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (p pattern) names() []string {
	var out []string
	for _, n := range p.nodes {
		if n.capture != "" && n.capture != "_" {
			out = append(out, n.capture)
		}
	}
	return out
}

// compilePattern validates a pattern parser's expression.
func compilePattern(s string) (pattern, error) {
	p, err := parsePattern(s)
	if err != nil {
		return p, err
	}
	names := p.names()
	if len(names) == 0 {
		return p, errors.New("at least one capture is required")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return p, fmt.Errorf("duplicate capture name (%s): invalid expression", n)
		}
		seen[n] = true
	}
	return p, nil
}

// compileLinePattern validates a |> or !> pattern: no named captures.
func compileLinePattern(s string) (pattern, error) {
	p, err := parsePattern(s)
	if err != nil {
		return p, err
	}
	for _, n := range p.nodes {
		if n.capture != "" && n.capture != "_" {
			return p, fmt.Errorf("named captures are not allowed: found '<%s>'", n.capture)
		}
	}
	return p, nil
}

// matches returns the named captures of a pattern parser.
func (p pattern) matches(in string) []string {
	if len(in) == 0 || len(p.nodes) == 0 {
		return nil
	}
	var caps []string
	nodes := p.nodes
	if nodes[0].capture == "" {
		if !strings.HasPrefix(in, nodes[0].lit) {
			return nil
		}
		in = in[len(nodes[0].lit):]
		nodes = nodes[1:]
	}
	if len(nodes) == 0 {
		return nil
	}
	for len(nodes) != 0 {
		if len(nodes) == 1 {
			if nodes[0].capture != "_" {
				caps = append(caps, in)
			}
			return caps
		}
		c, ls := nodes[0], nodes[1].lit
		nodes = nodes[2:]
		i := strings.Index(in, ls)
		if i == -1 {
			if c.capture != "_" {
				caps = append(caps, in)
			}
			return caps
		}
		if c.capture != "_" {
			caps = append(caps, in[:i])
		}
		in = in[len(ls)+i:]
	}
	return caps
}

// test tells whether a line filter pattern matches the whole line.
func (p pattern) test(in string) bool {
	if len(in) == 0 || len(p.nodes) == 0 {
		return len(in) == 0 && len(p.nodes) == 0
	}
	off := 0
	for i, n := range p.nodes {
		if n.capture != "" {
			continue
		}
		j := strings.Index(in[off:], n.lit)
		if j == -1 {
			return false
		}
		if i != 0 && j == 0 {
			return false
		}
		off += j + len(n.lit)
	}
	reqRem := p.nodes[len(p.nodes)-1].capture != ""
	return reqRem == (off != len(in))
}

// ---- parsers

func sanitizeLabelKey(key string, isPrefix bool) string {
	key = strings.TrimSpace(key)
	if key == "" {
		return key
	}
	if isPrefix && key[0] >= '0' && key[0] <= '9' {
		key = "_" + key
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, key)
}

// isValidLabelName is Loki's check of extracted label names (UTF-8
// validation: any non-empty valid UTF-8 string).
func isValidLabelName(s string) bool { return s != "" && utf8.ValidString(s) }

func compileParser(p *Parser) (stage, error) {
	switch p.Kind {
	case parserJSON:
		if len(p.Extractions) > 0 {
			return newJSONExprParser(p.Extractions)
		}
		return &jsonParser{}, nil
	case parserLogfmt:
		if len(p.Extractions) > 0 {
			return newLogfmtExprParser(p)
		}
		return &logfmtParser{strict: p.Strict, keepEmpty: p.KeepEmpty}, nil
	case parserRegexp:
		return newRegexpParser(p.Param)
	case parserPattern:
		pat, err := compilePattern(p.Param)
		if err != nil {
			return nil, err
		}
		for _, n := range pat.names() {
			if !isValidLabelName(n) {
				return nil, fmt.Errorf("invalid capture label name '%s'", n)
			}
		}
		return &patternParser{p: pat, names: pat.names()}, nil
	case parserUnpack:
		return unpackParser{}, nil
	}
	return nil, unsupported("parser " + p.Kind)
}

var (
	errFoundAllLabels    = errors.New("found all required labels")
	errLabelDoesNotMatch = errors.New("found a label with a matcher that didn't match")
)

type jsonParser struct{}

func (jsonParser) requiredLabels() []string { return nil }

func (jsonParser) process(_ int64, line string, b *builder) (string, bool) {
	if b.h.skipParsing() {
		return line, true
	}
	var prefix [][]byte
	var each func(key, value []byte, dt jsonparser.ValueType, _ int) error
	each = func(key, value []byte, dt jsonparser.ValueType, _ int) error {
		switch dt {
		case jsonparser.String, jsonparser.Number, jsonparser.Boolean:
			jsonSetValue(b, prefix, key, value, dt)
		case jsonparser.Object:
			n := len(prefix)
			prefix = append(prefix, key)
			var err error
			if b.h.shouldExtractPrefix(sanitizedPrefix(prefix)) {
				err = jsonparser.ObjectEach(value, each)
			}
			prefix = prefix[:n]
			return err
		}
		if b.h.allRequiredExtracted() {
			return errFoundAllLabels
		}
		return nil
	}
	if err := jsonparser.ObjectEach([]byte(line), each); err != nil {
		if errors.Is(err, errFoundAllLabels) {
			return line, true
		}
		b.addParserErr(errJSON, err)
	}
	return line, true
}

func sanitizedPrefix(parts [][]byte) string {
	var out []byte
	for i, part := range parts {
		part = bytes.TrimSpace(part)
		if len(part) == 0 {
			continue
		}
		if i > 0 && len(out) > 0 {
			out = append(out, '_')
		}
		if len(out) == 0 && part[0] >= '0' && part[0] <= '9' {
			out = append(out, '_')
		}
		for _, r := range string(part) {
			if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && r != '_' && (r < '0' || r > '9') {
				out = append(out, '_')
				continue
			}
			out = append(out, byte(r))
		}
	}
	return string(out)
}

func jsonSetValue(b *builder, prefix [][]byte, key, value []byte, dt jsonparser.ValueType) {
	var k string
	if len(prefix) == 0 {
		k = sanitizeLabelKey(string(key), true)
		if k == "" {
			return
		}
		if b.baseHas(k) {
			k += duplicateSuffix
		}
	} else {
		parts := append(append([][]byte{}, prefix...), key)
		k = sanitizedPrefix(parts)
		if b.baseHas(k) {
			parts[len(parts)-1] = append(append([]byte{}, key...), duplicateSuffix...)
			k = sanitizedPrefix(parts)
		}
	}
	if !b.h.shouldExtract(k) || b.h.wasExtracted(k) {
		return
	}
	b.set(k, readJSONValue(value, dt))
}

func readJSONValue(v []byte, dt jsonparser.ValueType) string {
	switch dt {
	case jsonparser.String:
		return unescapeJSONString(v)
	case jsonparser.Number:
		return string(v)
	case jsonparser.Boolean:
		if bytes.Equal(v, []byte("true")) {
			return "true"
		}
		return "false"
	}
	return ""
}

func unescapeJSONString(b []byte) string {
	var buf [64]byte
	u, err := jsonparser.Unescape(b, buf[:])
	if err != nil {
		return ""
	}
	return spaceInvalidUTF8(string(u))
}

// spaceInvalidUTF8 replaces invalid UTF-8 with spaces, as Loki's parsers do
// with the values they extract.
func spaceInvalidUTF8(s string) string {
	if !strings.ContainsRune(s, utf8.RuneError) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
}

type jsonExprParser struct {
	ids   []string
	paths [][]string
}

func newJSONExprParser(exs []Extraction) (stage, error) {
	p := &jsonExprParser{}
	for _, ex := range exs {
		path, err := parseJSONPath(ex.Expr)
		if err != nil {
			return nil, fmt.Errorf("cannot parse expression [%s]: %w", ex.Expr, err)
		}
		if !isValidLabelName(ex.Label) {
			return nil, fmt.Errorf("invalid extracted label name '%s'", ex.Label)
		}
		p.ids = append(p.ids, ex.Label)
		p.paths = append(p.paths, path)
	}
	return p, nil
}

// parseJSONPath reads a json parser expression: a.b[0]["c"].
func parseJSONPath(s string) ([]string, error) {
	var out []string
	i := 0
	isStart := func(c byte) bool { return isASCIILetter(c) || c == '_' }
	isIdent := func(c byte) bool { return isStart(c) || isDigitB(c) }
	expectField := true
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isStart(c) && expectField:
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			out = append(out, s[i:j])
			i = j
			expectField = false
		case c == '.' && !expectField:
			i++
			expectField = true
		case c == '[':
			if expectField && len(out) > 0 {
				return nil, fmt.Errorf("syntax error: unexpected [")
			}
			j := i + 1
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j < len(s) && s[j] == '"' {
				k := j + 1
				for k < len(s) && s[k] != '"' && s[k] != ']' {
					k++
				}
				out = append(out, s[j+1:k])
				if k < len(s) && s[k] == '"' {
					k++
				}
				for k < len(s) && s[k] == ' ' {
					k++
				}
				if k >= len(s) || s[k] != ']' {
					return nil, fmt.Errorf("syntax error: missing ]")
				}
				i = k + 1
			} else {
				k := j
				for k < len(s) && isDigitB(s[k]) {
					k++
				}
				if k == j {
					return nil, fmt.Errorf("syntax error: bad index")
				}
				if k < len(s) && s[k] == '.' {
					return nil, fmt.Errorf("cannot use float as array index")
				}
				idx, _ := strconv.Atoi(s[j:k])
				out = append(out, "["+strconv.Itoa(idx)+"]")
				for k < len(s) && s[k] == ' ' {
					k++
				}
				if k >= len(s) || s[k] != ']' {
					return nil, fmt.Errorf("syntax error: missing ]")
				}
				i = k + 1
			}
			expectField = false
		default:
			return nil, fmt.Errorf("unexpected char %c", c)
		}
	}
	if len(out) == 0 || expectField && i > 0 && s[len(s)-1] == '.' {
		return nil, fmt.Errorf("syntax error: unexpected end")
	}
	return out, nil
}

func (p *jsonExprParser) requiredLabels() []string { return nil }

func (p *jsonExprParser) process(_ int64, line string, b *builder) (string, bool) {
	if len(line) == 0 || b.h.skipParsing() {
		return line, true
	}
	if c := line[0]; c != '"' && c != '{' && c != '[' {
		b.addParserErr(errJSON, nil)
		return line, true
	}
	matches := 0
	jsonparser.EachKey([]byte(line), func(idx int, data []byte, typ jsonparser.ValueType, err error) {
		if err != nil {
			b.addParserErr(errJSON, err)
			return
		}
		key := p.ids[idx]
		if b.baseHas(key) {
			key += duplicateSuffix
		}
		switch typ {
		case jsonparser.Null:
			b.set(key, "")
		case jsonparser.Object:
			b.set(key, string(data))
		default:
			b.set(key, unescapeJSONString(data))
		}
		matches++
	}, p.paths...)
	if matches < len(p.ids) {
		for _, id := range p.ids {
			if _, ok := b.get(id); !ok {
				b.set(id, "")
			}
		}
	}
	return line, true
}

// logfmt decoding, as Loki's decoder reads a line.
type logfmtDecoder struct {
	line       string
	pos        int
	key, value string
	hasKey     bool
	err        error
}

type logfmtSyntaxError struct {
	msg string
	pos int
}

func (e *logfmtSyntaxError) Error() string {
	return fmt.Sprintf("logfmt syntax error at pos %d : %s", e.pos, e.msg)
}

func (d *logfmtDecoder) eol() bool { return d.pos >= len(d.line) }

func (d *logfmtDecoder) syntaxError(msg string) { d.err = &logfmtSyntaxError{msg, d.pos + 1} }
func (d *logfmtDecoder) unexpected(c byte)      { d.syntaxError(fmt.Sprintf("unexpected %q", c)) }

func invalidKey(k string) bool { return strings.ContainsRune(k, utf8.RuneError) }

// scan reads the next key=value; false when it is malformed (or none is
// left).
func (d *logfmtDecoder) scan() bool {
	d.key, d.value, d.hasKey = "", "", false
	line := d.line
	for d.pos < len(line) && line[d.pos] <= ' ' {
		d.pos++
	}
	if d.pos >= len(line) {
		return false
	}
	start, multibyte := d.pos, false
	for d.pos < len(line) {
		c := line[d.pos]
		switch {
		case c == '=':
			if d.pos > start {
				d.key, d.hasKey = line[start:d.pos], true
				if multibyte && invalidKey(d.key) {
					d.syntaxError("invalid key")
					return d.skipValue()
				}
			}
			if !d.hasKey {
				d.unexpected(c)
				return d.skipValue()
			}
			return d.scanValue()
		case c == '"':
			d.unexpected(c)
			return d.skipValue()
		case c <= ' ':
			if d.pos > start {
				d.key, d.hasKey = line[start:d.pos], true
				if multibyte && invalidKey(d.key) {
					d.syntaxError("invalid key")
					return false
				}
			}
			return true
		case c >= utf8.RuneSelf:
			multibyte = true
		}
		d.pos++
	}
	if d.pos > start {
		d.key, d.hasKey = line[start:d.pos], true
		if multibyte && invalidKey(d.key) {
			d.syntaxError("invalid key")
			return false
		}
	}
	return true
}

func (d *logfmtDecoder) skipValue() bool {
	for d.pos < len(d.line) {
		if d.line[d.pos] <= ' ' {
			return false
		}
		d.pos++
	}
	return false
}

func (d *logfmtDecoder) scanValue() bool {
	line := d.line
	d.pos++
	if d.pos >= len(line) {
		return true
	}
	switch c := line[d.pos]; {
	case c <= ' ':
		return true
	case c == '"':
		return d.scanQuoted()
	}
	start := d.pos
	for d.pos < len(line) {
		c := line[d.pos]
		switch {
		case c == '=' || c == '"':
			d.unexpected(c)
			return d.skipValue()
		case c <= ' ':
			d.value = line[start:d.pos]
			return true
		}
		d.pos++
	}
	d.value = line[start:]
	return true
}

func (d *logfmtDecoder) scanQuoted() bool {
	line := d.line
	hasEsc, esc := false, false
	start := d.pos
	for p := d.pos + 1; p < len(line); p++ {
		c := line[p]
		switch {
		case esc:
			esc = false
		case c == '\\':
			hasEsc, esc = true, true
		case c == '"':
			d.pos = p + 1
			if hasEsc {
				var v string
				if err := json.Unmarshal([]byte(line[start:d.pos]), &v); err != nil {
					d.syntaxError("invalid quoted value")
					return false
				}
				d.value = v
			} else {
				d.value = line[start+1 : p]
			}
			return true
		}
	}
	d.pos = len(line)
	d.syntaxError("unterminated quoted value")
	return false
}

type logfmtParser struct{ strict, keepEmpty bool }

func (logfmtParser) requiredLabels() []string { return nil }

func (p logfmtParser) process(_ int64, line string, b *builder) (string, bool) {
	if b.h.skipParsing() {
		return line, true
	}
	d := &logfmtDecoder{line: line}
	for !d.eol() {
		if !d.scan() {
			if p.strict {
				break
			}
			continue
		}
		key := sanitizeLabelKey(d.key, true)
		if key == "" {
			continue
		}
		if b.baseHas(key) {
			key += duplicateSuffix
		}
		if !b.h.shouldExtract(key) || b.h.wasExtracted(key) {
			continue
		}
		val := spaceInvalidUTF8(d.value)
		if !p.keepEmpty && val == "" {
			continue
		}
		b.set(key, val)
		if b.h.allRequiredExtracted() {
			break
		}
	}
	if p.strict && d.err != nil {
		b.addParserErr(errLogfmt, d.err)
	}
	return line, true
}

type logfmtExprParser struct {
	strict bool
	exprs  map[string]string // label → logfmt key
	order  []string
}

func newLogfmtExprParser(p *Parser) (stage, error) {
	lp := &logfmtExprParser{strict: p.Strict, exprs: map[string]string{}}
	for _, ex := range p.Extractions {
		k := strings.TrimSpace(ex.Expr)
		if k == "" || strings.ContainsAny(k, " \t\"=") {
			return nil, fmt.Errorf("cannot parse expression [%s]: syntax error", ex.Expr)
		}
		if !isValidLabelName(ex.Label) {
			return nil, fmt.Errorf("invalid extracted label name '%s'", ex.Label)
		}
		if _, ok := lp.exprs[ex.Label]; !ok {
			lp.order = append(lp.order, ex.Label)
		}
		lp.exprs[ex.Label] = k
	}
	return lp, nil
}

func (p *logfmtExprParser) requiredLabels() []string { return nil }

func (p *logfmtExprParser) process(_ int64, line string, b *builder) (string, bool) {
	if b.h.skipParsing() {
		return line, true
	}
	for _, id := range p.order {
		if !b.baseHas(id) {
			b.set(id, "")
		}
	}
	d := &logfmtDecoder{line: line}
	for !d.eol() {
		if !d.scan() {
			if p.strict {
				break
			}
			continue
		}
		key := sanitizeLabelKey(d.key, true)
		if key == "" {
			continue
		}
		_, always := p.exprs[key]
		if !always && !b.h.shouldExtract(key) {
			continue
		}
		if !always && b.h.wasExtracted(key) {
			continue
		}
		val := d.value
		if strings.ContainsRune(val, utf8.RuneError) {
			val = ""
		}
		for id, orig := range p.exprs {
			if key == orig {
				key = id
				break
			}
		}
		if _, ok := p.exprs[key]; ok {
			if b.baseHas(key) {
				key += duplicateSuffix
				if b.h.wasExtracted(key) || !b.h.shouldExtract(key) {
					break
				}
			}
			b.set(key, val)
			if b.h.allRequiredExtracted() {
				break
			}
		}
	}
	if p.strict && d.err != nil {
		b.addParserErr(errLogfmt, d.err)
	}
	return line, true
}

type regexpParser struct {
	re    *regexp.Regexp
	names map[int]string
}

func newRegexpParser(s string) (*regexpParser, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	if re.NumSubexp() == 0 {
		return nil, errors.New("at least one named capture must be supplied")
	}
	names := map[int]string{}
	seen := map[string]bool{}
	for i, n := range re.SubexpNames() {
		if n == "" {
			continue
		}
		if !isValidLabelName(n) {
			return nil, fmt.Errorf("invalid extracted label name '%s'", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("duplicate extracted label name '%s'", n)
		}
		seen[n] = true
		names[i] = n
	}
	if len(names) == 0 {
		return nil, errors.New("at least one named capture must be supplied")
	}
	return &regexpParser{re: re, names: names}, nil
}

func (p *regexpParser) requiredLabels() []string { return nil }

func (p *regexpParser) process(_ int64, line string, b *builder) (string, bool) {
	for i, v := range p.re.FindStringSubmatch(line) {
		name, ok := p.names[i]
		if !ok {
			continue
		}
		key := sanitizeLabelKey(name, true)
		if key == "" {
			continue
		}
		if b.baseHas(key) {
			key += duplicateSuffix
		}
		if !b.h.shouldExtract(key) || b.h.wasExtracted(key) {
			continue
		}
		b.set(key, v)
	}
	return line, true
}

type patternParser struct {
	p     pattern
	names []string
}

func (p *patternParser) requiredLabels() []string { return nil }

func (p *patternParser) process(_ int64, line string, b *builder) (string, bool) {
	if b.h.skipParsing() {
		return line, true
	}
	for i, m := range p.p.matches(line) {
		name := p.names[i]
		if b.baseHas(name) {
			name += duplicateSuffix
		}
		if b.h.wasExtracted(name) || !b.h.shouldExtract(name) {
			continue
		}
		b.set(name, m)
	}
	return line, true
}

type unpackParser struct{}

func (unpackParser) requiredLabels() []string { return nil }

func (unpackParser) process(_ int64, line string, b *builder) (string, bool) {
	if len(line) == 0 || b.h.skipParsing() {
		return line, true
	}
	if line[0] != '{' {
		b.addParserErr(errJSON, fmt.Errorf("expecting json object(%d), but it is not", 3))
		return line, true
	}
	var kv []string
	entry := line
	packed := false
	err := jsonparser.ObjectEach([]byte(line), func(key, value []byte, typ jsonparser.ValueType, _ int) error {
		if typ != jsonparser.String {
			return nil
		}
		if string(key) == "_entry" {
			var buf [64]byte
			u, err := jsonparser.Unescape(value, buf[:])
			if err != nil {
				return err
			}
			entry = string(u)
			packed = true
			return nil
		}
		k := string(key)
		if b.baseHas(k) {
			k += duplicateSuffix
		}
		if !b.h.shouldExtract(k) || b.h.wasExtracted(k) {
			return nil
		}
		kv = append(kv, sanitizeLabelKey(k, true), unescapeJSONString(value))
		return nil
	})
	if err != nil {
		b.addParserErr(errJSON, err)
		return line, true
	}
	if packed {
		for i := 0; i+1 < len(kv); i += 2 {
			b.set(kv[i], kv[i+1])
		}
	}
	return entry, true
}

// ---- label filters

type labelFilterStage struct {
	f     func(b *builder) bool
	names []string
}

func (s *labelFilterStage) process(_ int64, line string, b *builder) (string, bool) {
	return line, s.f(b)
}

func (s *labelFilterStage) requiredLabels() []string { return s.names }

func compileLabelFilter(f LabelFilter) (*labelFilterStage, error) {
	fn, names, err := labelFilterFunc(f)
	if err != nil {
		return nil, err
	}
	return &labelFilterStage{f: fn, names: names}, nil
}

func cmpResult[T int64 | uint64 | float64](op string, v, ref T) bool {
	switch op {
	case CmpEQ:
		return v == ref
	case CmpNE:
		return v != ref
	case CmpGT:
		return v > ref
	case CmpGTE:
		return v >= ref
	case CmpLT:
		return v < ref
	default:
		return v <= ref
	}
}

func labelFilterFunc(f LabelFilter) (func(*builder) bool, []string, error) {
	switch lf := f.(type) {
	case *BinaryLabelFilter:
		l, ln, err := labelFilterFunc(lf.Left)
		if err != nil {
			return nil, nil, err
		}
		r, rn, err := labelFilterFunc(lf.Right)
		if err != nil {
			return nil, nil, err
		}
		names := append(append([]string{}, ln...), rn...)
		if lf.And {
			return func(b *builder) bool {
				lok := l(b)
				rok := r(b)
				return lok && rok
			}, names, nil
		}
		return func(b *builder) bool {
			if l(b) {
				return true
			}
			return r(b)
		}, names, nil
	case *LabelMatch:
		m := lf.Matcher
		return func(b *builder) bool {
			if m.Name == errorLabel {
				return m.Matches(b.err)
			}
			v, _ := b.get(m.Name)
			return m.Matches(v)
		}, []string{m.Name}, nil
	case *NumericFilter:
		return func(b *builder) bool {
			s, ok := b.get(lf.Name)
			if !ok {
				return false
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				if b.err == "" {
					b.setErr(errLabelFilter, err.Error())
				}
				return true
			}
			return cmpResult(lf.Op, v, lf.Value)
		}, []string{lf.Name}, nil
	case *DurationFilter:
		return func(b *builder) bool {
			s, ok := b.get(lf.Name)
			if !ok {
				return false
			}
			v, err := time.ParseDuration(s)
			if err != nil {
				if b.err == "" {
					b.setErr(errLabelFilter, err.Error())
				}
				return true
			}
			return cmpResult(lf.Op, int64(v), int64(lf.Value))
		}, []string{lf.Name}, nil
	case *BytesFilter:
		return func(b *builder) bool {
			s, ok := b.get(lf.Name)
			if !ok {
				return false
			}
			v, err := humanize.ParseBytes(s)
			if err != nil {
				if b.err == "" {
					b.setErr(errLabelFilter, err.Error())
				}
				return true
			}
			return cmpResult(lf.Op, v, lf.Value)
		}, []string{lf.Name}, nil
	case *IPLabelFilter:
		m, err := newIPMatcher(lf.Pattern)
		if err != nil {
			return nil, nil, err
		}
		return func(b *builder) bool {
			if b.err != "" {
				return true
			}
			v, ok := b.get(lf.Name)
			if !ok {
				return false
			}
			return m.findIn(v) != lf.Negate
		}, []string{lf.Name}, nil
	}
	return nil, nil, unsupported(fmt.Sprintf("label filter %T", f))
}

// ---- formats

type lineFormatStage struct{ t *lineTemplate }

func (s *lineFormatStage) requiredLabels() []string { return s.t.fields }

func (s *lineFormatStage) process(ts int64, line string, b *builder) (string, bool) {
	if s.t.simpleKey != "" {
		if v, ok := b.get(s.t.simpleKey); ok {
			return v, true
		}
		return "", true
	}
	out, err := s.t.exec(b.templateData(), line, ts)
	if err != nil {
		b.setErr(errTemplateFormat, err.Error())
		return line, true
	}
	return out, true
}

type labelFmtC struct {
	LabelFmt
	t *lineTemplate
}

type labelFormatStage struct{ items []labelFmtC }

func (s *labelFormatStage) requiredLabels() []string {
	var out []string
	for _, it := range s.items {
		if it.Rename {
			out = append(out, it.Src)
		} else {
			out = append(out, it.t.fields...)
		}
	}
	return out
}

func (s *labelFormatStage) process(ts int64, line string, b *builder) (string, bool) {
	var data map[string]string
	for _, it := range s.items {
		if it.Rename {
			if v, ok := b.get(it.Src); ok {
				b.set(it.Dst, v)
				b.delete(it.Src)
			}
			continue
		}
		if data == nil {
			data = b.templateData()
		}
		out, err := it.t.exec(data, line, ts)
		if err != nil {
			b.setErr(errTemplateFormat, err.Error())
			continue
		}
		b.set(it.Dst, out)
	}
	return line, true
}

type dropKeepStage struct{ *DropKeep }

func (s *dropKeepStage) requiredLabels() []string { return nil }

func (s *dropKeepStage) process(_ int64, line string, b *builder) (string, bool) {
	if s.Keep {
		if len(s.Items) == 0 {
			return line, true
		}
		for _, l := range b.all() {
			if l.Name == errorLabel || l.Name == errorDetailsLabel || l.Name == preserveErrorLabel {
				continue
			}
			keep := false
			for _, it := range s.Items {
				if it.Matcher != nil && it.Matcher.Name == l.Name && it.Matcher.Matches(l.Value) || it.Name == l.Name {
					keep = true
					break
				}
			}
			if !keep {
				b.delete(l.Name)
			}
		}
		return line, true
	}
	for _, it := range s.Items {
		if it.Matcher != nil {
			m := it.Matcher
			switch m.Name {
			case errorLabel:
				if m.Matches(b.err) {
					b.err = ""
				}
			case errorDetailsLabel:
				if m.Matches(b.errDetails) {
					b.errDetails = ""
				}
			default:
				v, _ := b.get(m.Name)
				if m.Matches(v) {
					b.delete(m.Name)
				}
			}
			continue
		}
		switch it.Name {
		case errorLabel:
			b.err = ""
		case errorDetailsLabel:
			b.errDetails = ""
		default:
			if _, ok := b.get(it.Name); ok {
				b.delete(it.Name)
			}
		}
	}
	return line, true
}

const ansiPattern = "[\u001B\u009B][[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u0007)|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))"

var ansiRegex = regexp.MustCompile(ansiPattern)

type decolorizeStage struct{}

func (decolorizeStage) requiredLabels() []string { return nil }

func (decolorizeStage) process(_ int64, line string, _ *builder) (string, bool) {
	return ansiRegex.ReplaceAllString(line, ""), true
}

// ---- templates

type lineTemplate struct {
	src       string
	fields    []string
	simpleKey string
	funcs     *templateFuncs
	t         *template.Template
}

func humanizeParseBytes(s string) (uint64, error) { return humanize.ParseBytes(s) }
