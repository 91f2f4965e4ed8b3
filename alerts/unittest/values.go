package unittest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hlalert/hlalert/alerts/series"
)

// ValueRun is a stretch of an input series' values, kept compact however long
// it is: Count points, absent when Omitted, else Value, then Value+Step,
// and so on.
type ValueRun struct {
	Count   int64
	Omitted bool
	Value   float64
	Step    float64
	// Accumulate: each value is the previous one plus Step, as promtool
	// computes a+bxN; else the i-th is Value + i*Step, as vmalert-tool
	// does. Both round differently for fractional steps.
	Accumulate  bool
	checkpoints []float64 // when Accumulate: every checkpointEvery-th value
}

// checkpointEvery spaces the kept values of an accumulating run: a value
// anywhere in it takes at most this many additions to recompute.
const checkpointEvery = 1024

// newRun returns a run of n values from a by step b.
func newRun(a, b float64, n int64, accumulate bool) ValueRun {
	r := ValueRun{Count: n, Value: a, Step: b}
	if b == 0 || n == 1 {
		return r
	}
	r.Accumulate = accumulate
	if accumulate && n > checkpointEvery {
		r.checkpoints = make([]float64, 0, n/checkpointEvery+1)
		v := a
		for i := int64(0); i < n; i++ {
			if i%checkpointEvery == 0 {
				r.checkpoints = append(r.checkpoints, v)
			}
			v += b
		}
	}
	return r
}

// fill sets dst[k].V to the run's value number from+k.
func (r ValueRun) fill(from int64, dst []series.Sample) {
	switch {
	case r.Step == 0:
		for k := range dst {
			dst[k].V = r.Value
		}
	case !r.Accumulate:
		for k := range dst {
			dst[k].V = r.Value + r.Step*float64(from+int64(k))
		}
	default:
		v, i := r.Value, int64(0)
		if len(r.checkpoints) > 0 {
			i = from / checkpointEvery * checkpointEvery
			v = r.checkpoints[from/checkpointEvery]
		}
		for ; i < from; i++ {
			v += r.Step
		}
		for k := range dst {
			dst[k].V = v
			v += r.Step
		}
	}
}

// ValueError is a bad item in a values string; Offset is its byte offset.
type ValueError struct {
	Offset int
	Msg    string
}

func (e *ValueError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// MaxValues bounds the points one input series may have. Runs cost no
// memory per point, but a query reading a whole series materialises it
// (16 bytes a point), so this keeps that under about 1.6 GB.
const MaxValues = 100_000_000

// ParseRuns reads the value notation of an input series, item by item
// (space-separated):
//
//	a        one value (a number, Inf, NaN, 1e3, ...)
//	_        an omitted point
//	stale    the staleness marker
//	a+b      one value, a plus the integer b (vmalert-tool)
//	axN      a, N+1 times
//	a+bxN    a, a+b, ..., a+N*b (N+1 values)
//	a-bxN    a, a-b, ..., a-N*b
//	_xN      N omitted points (vmalert-tool: one when N is 0)
//
// For vmalert-tool files it yields exactly what vmalert-tool v1.150.0
// yields; items it reads only partly (it ignores characters its number
// pattern does not match, e.g. "5m" as 5) are errors here. For promtool
// files it follows promtool: empty values mean a series without samples,
// _x0 is no point, stalexN repeats the marker, and a+bxN adds b N times.
// Native histogram samples ({{schema:... }}) are refused by name:
// MetricsQL has no histogram samples (VictoriaMetrics turns native
// histograms into float series when it ingests them).
func ParseRuns(s string, format Format) ([]ValueRun, error) {
	prom := format == Promtool
	if i := strings.Index(s, "{{"); i >= 0 {
		return nil, &ValueError{Offset: i, Msg: "native histogram samples ({{...}}) are not supported: VictoriaMetrics converts native histograms into float series (_count, _sum, _bucket with vmrange labels) when it ingests them, and MetricsQL has no histogram samples; give those series as input instead"}
	}
	var out []ValueRun
	var total int64
	i := 0
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
		r, err := parseItem(s[start:i], prom)
		if err != nil {
			return nil, &ValueError{Offset: start, Msg: fmt.Sprintf("item %q: %v", s[start:i], err)}
		}
		total += r.Count
		if total > MaxValues {
			return nil, &ValueError{Offset: start, Msg: fmt.Sprintf("more than %d values in one series (a query reading it whole would need gigabytes)", MaxValues)}
		}
		if r.Count > 0 {
			out = append(out, r)
		}
	}
	if len(out) == 0 && total == 0 && !prom && strings.TrimSpace(s) == "" {
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

func parseCount(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange && !strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("repetition count %s: more than %d values", s, MaxValues)
		}
		return 0, fmt.Errorf("bad repetition count %q: want a non-negative integer", s)
	}
	if n >= MaxValues {
		return 0, fmt.Errorf("repetition count %d: more than %d values", n, MaxValues)
	}
	return n, nil
}

func parseItem(item string, prom bool) (ValueRun, error) {
	if item == "stale" {
		return ValueRun{Count: 1, Value: series.StaleNaN}, nil
	}
	if prom && strings.HasPrefix(item, "stalex") {
		n, err := parseCount(item[len("stalex"):])
		if err != nil {
			return ValueRun{}, err
		}
		return ValueRun{Count: n + 1, Value: series.StaleNaN}, nil
	}
	if strings.Contains(item, "stale") {
		return ValueRun{}, fmt.Errorf("stale takes no operations")
	}
	toks, err := tokens(item)
	if err != nil {
		return ValueRun{}, err
	}
	switch len(toks) {
	case 1:
		if toks[0] == "_" {
			return ValueRun{Count: 1, Omitted: true}, nil
		}
		v, err := parseFloat(toks[0])
		if err != nil {
			return ValueRun{}, err
		}
		return ValueRun{Count: 1, Value: v}, nil
	case 2:
		base, op := toks[0][:len(toks[0])-1], toks[0][len(toks[0])-1]
		switch op {
		case '+': // a+b: a single value
			a, err := parseFloat(base)
			if err != nil {
				return ValueRun{}, err
			}
			b, err := strconv.ParseInt(toks[1], 10, 64)
			if err != nil {
				return ValueRun{}, fmt.Errorf("bad increment %q in a+b: want an integer", toks[1])
			}
			return ValueRun{Count: 1, Value: a + float64(b)}, nil
		case 'x':
			n, err := parseCount(toks[1])
			if err != nil {
				return ValueRun{}, err
			}
			if base == "_" {
				if !prom {
					n = max(n, 1)
				}
				return ValueRun{Count: n, Omitted: true}, nil
			}
			a, err := parseFloat(base)
			if err != nil {
				return ValueRun{}, err
			}
			return ValueRun{Count: n + 1, Value: a}, nil
		}
		return ValueRun{}, fmt.Errorf("want a+b, axN, a+bxN or a-bxN")
	case 3:
		base, op := toks[0][:len(toks[0])-1], toks[0][len(toks[0])-1]
		step, x := toks[1][:len(toks[1])-1], toks[1][len(toks[1])-1]
		if (op != '+' && op != '-') || x != 'x' || step == "_" {
			return ValueRun{}, fmt.Errorf("want a+bxN or a-bxN")
		}
		a, err := parseFloat(base)
		if err != nil {
			return ValueRun{}, err
		}
		b, err := parseFloat(step)
		if err != nil {
			return ValueRun{}, err
		}
		n, err := parseCount(toks[2])
		if err != nil {
			return ValueRun{}, err
		}
		if op == '-' {
			b = -b // a - b*i is exactly a + (-b)*i
		}
		return newRun(a, b, n+1, prom), nil
	}
	return ValueRun{}, fmt.Errorf("too many parts: want a, a+b, axN, a+bxN or a-bxN")
}
