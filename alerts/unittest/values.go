package unittest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hlalert/hlalert/alerts/series"
)

// SeqValue is one value of an input series: a number, the staleness marker
// (Value is series.StaleNaN) or an omitted point.
type SeqValue struct {
	Value   float64
	Omitted bool
}

// ValueError is a bad item in a values string; Offset is its byte offset.
type ValueError struct {
	Offset int
	Msg    string
}

func (e *ValueError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// MaxValues bounds the points one input series may expand to.
const MaxValues = 1_000_000

// ParseValues expands vmalert-tool's value notation, item by item
// (space-separated):
//
//	a        one value (a number, Inf, NaN, 1e3, ...)
//	_        an omitted point
//	stale    the staleness marker
//	a+b      one value, a plus the integer b
//	axN      a, N+1 times
//	a+bxN    a, a+b, ..., a+N*b (N+1 values)
//	a-bxN    a, a-b, ..., a-N*b
//	_xN      N omitted points (one when N is 0)
//
// It yields exactly what vmalert-tool v1.150.0 yields for these forms.
// Items vmalert-tool reads only partly (it ignores characters its
// number pattern does not match, e.g. "5m" as 5) are errors here.
func ParseValues(s string) ([]SeqValue, error) {
	var out []SeqValue
	i := 0
	items := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		items++
		vals, err := parseItem(s[start:i])
		if err != nil {
			return nil, &ValueError{Offset: start, Msg: fmt.Sprintf("item %q: %v", s[start:i], err)}
		}
		if len(out)+len(vals) > MaxValues {
			return nil, &ValueError{Offset: start, Msg: fmt.Sprintf("more than %d values", MaxValues)}
		}
		out = append(out, vals...)
	}
	if items == 0 {
		return nil, &ValueError{Offset: 0, Msg: "values cannot be empty"}
	}
	return out, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// tokens splits an item the way vmalert-tool's number pattern does: each
// token is an optional leading [+x-], a number (digits with an optional
// fraction, .digits, inf, nan or _), an optional exponent and an optional
// trailing [+x-]. It fails unless the tokens cover the whole item.
func tokens(item string) ([]string, error) {
	var toks []string
	i := 0
	for i < len(item) {
		start := i
		if isOp(item[i]) {
			i++
		}
		n := numberLen(item[i:])
		if n == 0 {
			return nil, fmt.Errorf("unexpected %q at column %d", item[start:], start+1)
		}
		i += n
		if n != 1 || item[i-1] != '_' { // vmalert's pattern allows an exponent after any number form
			i += exponentLen(item[i:])
		}
		if i < len(item) && isOp(item[i]) {
			i++
		}
		toks = append(toks, item[start:i])
	}
	return toks, nil
}

func isOp(c byte) bool { return c == '+' || c == '-' || c == 'x' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func numberLen(s string) int {
	switch {
	case len(s) >= 3 && (strings.EqualFold(s[:3], "inf") || strings.EqualFold(s[:3], "nan")):
		return 3
	case len(s) >= 1 && s[0] == '_':
		return 1
	case len(s) >= 2 && s[0] == '.' && isDigit(s[1]):
		i := 1
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return i
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return 0
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i
}

func exponentLen(s string) int {
	if len(s) == 0 || (s[0] != 'e' && s[0] != 'E') {
		return 0
	}
	i := 1
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j == i {
		return 0
	}
	return j
}

func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return v, nil
}

func parseCount(s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad repetition count %q: want a non-negative integer", s)
	}
	if n >= MaxValues {
		return 0, fmt.Errorf("repetition count %d: more than %d values", n, MaxValues)
	}
	return int(n), nil
}

func parseItem(item string) ([]SeqValue, error) {
	if item == "stale" {
		return []SeqValue{{Value: series.StaleNaN}}, nil
	}
	if strings.Contains(item, "stale") {
		return nil, fmt.Errorf("stale takes no operations")
	}
	toks, err := tokens(item)
	if err != nil {
		return nil, err
	}
	switch len(toks) {
	case 1:
		if toks[0] == "_" {
			return []SeqValue{{Omitted: true}}, nil
		}
		v, err := parseFloat(toks[0])
		if err != nil {
			return nil, err
		}
		return []SeqValue{{Value: v}}, nil
	case 2:
		base, op := toks[0][:len(toks[0])-1], toks[0][len(toks[0])-1]
		switch op {
		case '+': // a+b: a single value
			a, err := parseFloat(base)
			if err != nil {
				return nil, err
			}
			b, err := strconv.ParseInt(toks[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad increment %q in a+b: want an integer", toks[1])
			}
			return []SeqValue{{Value: a + float64(b)}}, nil
		case 'x':
			n, err := parseCount(toks[1])
			if err != nil {
				return nil, err
			}
			if base == "_" {
				out := make([]SeqValue, max(n, 1))
				for i := range out {
					out[i].Omitted = true
				}
				return out, nil
			}
			a, err := parseFloat(base)
			if err != nil {
				return nil, err
			}
			out := make([]SeqValue, n+1)
			for i := range out {
				out[i].Value = a
			}
			return out, nil
		}
		return nil, fmt.Errorf("want a+b, axN, a+bxN or a-bxN")
	case 3:
		base, op := toks[0][:len(toks[0])-1], toks[0][len(toks[0])-1]
		step, x := toks[1][:len(toks[1])-1], toks[1][len(toks[1])-1]
		if (op != '+' && op != '-') || x != 'x' || step == "_" {
			return nil, fmt.Errorf("want a+bxN or a-bxN")
		}
		a, err := parseFloat(base)
		if err != nil {
			return nil, err
		}
		b, err := parseFloat(step)
		if err != nil {
			return nil, err
		}
		n, err := parseCount(toks[2])
		if err != nil {
			return nil, err
		}
		out := make([]SeqValue, n+1)
		for i := range out {
			d := b * float64(i)
			if op == '+' {
				out[i].Value = a + d
			} else {
				out[i].Value = a - d
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("too many parts: want a, a+b, axN, a+bxN or a-bxN")
}
