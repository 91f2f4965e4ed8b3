package lqlengine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/common/model"
)

// token kinds
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDuration
	tBytes
	tRange // [5m]
	tFlag  // --strict
	tOp    // punctuation and operators, text in tok.text
	tKeyword
	tFunc // a function name followed by '(' (or by/without '(')
)

type token struct {
	kind tokKind
	text string // identifier/keyword/op text (keywords lower-cased)
	str  string // unquoted string
	dur  time.Duration
	b    uint64
	pos  int // byte offset
}

// keywords are tokens whatever follows them, as in Loki's lexer.
var keywords = map[string]bool{
	"by": true, "without": true, "bool": true, "offset": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "or": true, "and": true, "unless": true,
	"json": true, "regexp": true, "logfmt": true, "unpack": true, "pattern": true,
	"label_format": true, "line_format": true, "decolorize": true, "drop": true, "keep": true,
	"variants": true, "of": true, "unwrap": true,
}

// funcNames are tokens only when a '(' (or by/without '(') follows.
var funcNames = map[string]bool{
	"rate": true, "rate_counter": true, "count_over_time": true, "bytes_rate": true, "bytes_over_time": true,
	"avg_over_time": true, "sum_over_time": true, "min_over_time": true, "max_over_time": true,
	"stdvar_over_time": true, "stddev_over_time": true, "quantile_over_time": true,
	"first_over_time": true, "last_over_time": true, "absent_over_time": true, "vector": true,
	"sum": true, "avg": true, "max": true, "min": true, "count": true, "stddev": true, "stdvar": true,
	"bottomk": true, "topk": true, "sort": true, "sort_desc": true, "label_replace": true,
	"approx_topk": true, "bytes": true, "duration": true, "duration_seconds": true, "ip": true,
}

type lexer struct {
	src  string
	pos  int
	toks []token
}

// ParseError is a syntax or validation error; Line and Col are 1-based
// (0 when the error is not tied to a place, as Loki reports validation
// errors).
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	if e.Line == 0 && e.Col == 0 {
		return "parse error : " + e.Msg
	}
	return fmt.Sprintf("parse error at line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// errAt builds a ParseError at byte offset pos of src.
func errAt(src string, pos int, format string, args ...any) *ParseError {
	if pos > len(src) {
		pos = len(src)
	}
	line, col := 1, 1
	for _, r := range src[:pos] {
		if r == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return &ParseError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src}
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		l.toks = append(l.toks, t)
		if t.kind == tEOF {
			return l.toks, nil
		}
	}
}

func (l *lexer) peekRune(off int) rune {
	if l.pos+off >= len(l.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos+off:])
	return r
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentRune(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		if r == '#' {
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
			continue
		}
		if !unicode.IsSpace(r) {
			return
		}
		l.pos += n
	}
}

var ops3 = []string{}
var ops2 = []string{"|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<="}
var ops1 = "|=(){}[],+-*/%^<>."

func (l *lexer) next() (token, error) {
	l.skipSpace()
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	r, n := utf8.DecodeRuneInString(l.src[l.pos:])
	if r == utf8.RuneError && n == 1 {
		return token{}, errAt(l.src, start, "invalid UTF-8 rune")
	}
	switch {
	case r == '"' || r == '`':
		return l.scanString(r)
	case r >= '0' && r <= '9' || r == '.' && l.peekRune(1) >= '0' && l.peekRune(1) <= '9':
		return l.scanNumber(start, "")
	case r == '-' && l.peekRune(1) == '-':
		// a parser flag (--strict, --keep-empty)
		end := l.pos + 2
		for end < len(l.src) {
			r2, n2 := utf8.DecodeRuneInString(l.src[end:])
			if !unicode.IsLetter(r2) && r2 != '-' {
				break
			}
			end += n2
		}
		if f := l.src[l.pos:end]; f == "--strict" || f == "--keep-empty" {
			l.pos = end
			return token{kind: tFlag, text: f, pos: start}, nil
		}
	case r == '-':
		// a negative duration (offset -5m)
		if d, end, ok := scanDuration(l.src, l.pos+1, "-"); ok {
			l.pos = end
			return token{kind: tDuration, dur: d, pos: start}, nil
		}
	case r == '[':
		end := strings.IndexByte(l.src[l.pos:], ']')
		if end < 0 {
			return token{}, errAt(l.src, len(l.src), "missing closing ']' in duration")
		}
		text := l.src[l.pos+1 : l.pos+end]
		d, err := model.ParseDuration(text)
		if err != nil {
			return token{}, errAt(l.src, l.pos+end+1, "%s", err.Error())
		}
		l.pos += end + 1
		return token{kind: tRange, dur: time.Duration(d), pos: start}, nil
	case isIdentStart(r):
		end := l.pos
		for end < len(l.src) {
			r2, n2 := utf8.DecodeRuneInString(l.src[end:])
			if !isIdentRune(r2) {
				break
			}
			end += n2
		}
		word := l.src[l.pos:end]
		l.pos = end
		lower := strings.ToLower(word)
		if funcNames[lower] && l.isFunction() {
			return token{kind: tFunc, text: lower, pos: start}, nil
		}
		if keywords[lower] {
			return token{kind: tKeyword, text: lower, pos: start}, nil
		}
		return token{kind: tIdent, text: word, pos: start}, nil
	}
	for _, op := range ops2 {
		if strings.HasPrefix(l.src[l.pos:], op) {
			l.pos += 2
			return token{kind: tOp, text: op, pos: start}, nil
		}
	}
	if strings.ContainsRune(ops1, r) {
		l.pos += n
		return token{kind: tOp, text: string(r), pos: start}, nil
	}
	return token{}, errAt(l.src, start+n, "syntax error: unexpected character %q", r)
}

// isFunction tells whether '(' or by/without '(' follows, as Loki's lexer
// decides that a function name is a function and not a label name.
func (l *lexer) isFunction() bool {
	s := strings.TrimLeftFunc(l.src[l.pos:], unicode.IsSpace)
	if strings.HasPrefix(s, "(") {
		return true
	}
	for _, kw := range []string{"by", "without"} {
		if len(s) >= len(kw) && strings.EqualFold(s[:len(kw)], kw) {
			rest := strings.TrimLeftFunc(s[len(kw):], unicode.IsSpace)
			return strings.HasPrefix(rest, "(")
		}
	}
	return false
}

func (l *lexer) scanString(q rune) (token, error) {
	start := l.pos
	i := l.pos + 1
	for i < len(l.src) {
		c := l.src[i]
		if q == '"' && c == '\\' {
			i += 2
			continue
		}
		if q == '"' && c == '\n' {
			return token{}, errAt(l.src, i, "literal not terminated")
		}
		if rune(c) == q {
			break
		}
		i++
	}
	if i >= len(l.src) {
		return token{}, errAt(l.src, len(l.src), "literal not terminated")
	}
	raw := l.src[start : i+1]
	l.pos = i + 1
	s, err := strconv.Unquote(raw)
	if err != nil {
		return token{}, errAt(l.src, l.pos, "%s", err.Error())
	}
	return token{kind: tString, str: s, text: raw, pos: start}, nil
}

func (l *lexer) scanNumber(start int, sign string) (token, error) {
	i := l.pos
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	if strings.HasPrefix(l.src[i:], "0x") || strings.HasPrefix(l.src[i:], "0X") {
		i += 2
		for i < len(l.src) && (isDigit(l.src[i]) || strings.IndexByte("abcdefABCDEF", l.src[i]) >= 0) {
			i++
		}
	} else {
		for i < len(l.src) && (isDigit(l.src[i]) || l.src[i] == '_') {
			i++
		}
		if i < len(l.src) && l.src[i] == '.' {
			i++
			for i < len(l.src) && isDigit(l.src[i]) {
				i++
			}
		}
		if i < len(l.src) && (l.src[i] == 'e' || l.src[i] == 'E') {
			j := i + 1
			if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
				j++
			}
			if j < len(l.src) && isDigit(l.src[j]) {
				for j < len(l.src) && isDigit(l.src[j]) {
					j++
				}
				i = j
			}
		}
	}
	num := l.src[l.pos:i]
	if d, end, ok := scanDuration(l.src, i, num); ok {
		l.pos = end
		return token{kind: tDuration, dur: d, pos: start}, nil
	}
	if b, end, ok := scanBytes(l.src, i, num); ok {
		l.pos = end
		return token{kind: tBytes, b: b, pos: start}, nil
	}
	l.pos = i
	return token{kind: tNumber, text: num, pos: start}, nil
}

func isDurationRune(r rune) bool { return strings.ContainsRune("nuµmshdwy", r) }
func isBytesRune(r rune) bool    { return strings.ContainsRune("BikKMGTP", r) }

// scanDuration reads a duration continuing prefix at src[i:], as Loki's
// lexer does (Prometheus units first, then Go's).
func scanDuration(src string, i int, prefix string) (time.Duration, int, bool) {
	end := i
	for end < len(src) {
		r, n := utf8.DecodeRuneInString(src[end:])
		if unicode.IsSpace(r) || !unicode.IsNumber(r) && !isDurationRune(r) && r != '.' {
			break
		}
		end += n
	}
	if end == i {
		return 0, i, false
	}
	d, err := parseDuration(prefix + src[i:end])
	if err != nil {
		return 0, i, false
	}
	return d, end, true
}

func parseDuration(s string) (time.Duration, error) {
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return time.ParseDuration(s)
}

func scanBytes(src string, i int, prefix string) (uint64, int, bool) {
	end := i
	for end < len(src) {
		r, n := utf8.DecodeRuneInString(src[end:])
		if unicode.IsSpace(r) || !unicode.IsNumber(r) && !isBytesRune(r) && r != '.' {
			break
		}
		end += n
	}
	if end == i {
		return 0, i, false
	}
	b, err := humanize.ParseBytes(prefix + src[i:end])
	if err != nil {
		return 0, i, false
	}
	return b, end, true
}
