package tmpl

import (
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"math"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/hlalert/hlalert/alerts/series"
)

// Metric is one element of a query result as templates see it: vmalert's
// metric (labels as a map, timestamp in seconds, value).
type Metric struct {
	Labels    map[string]string
	Timestamp int64
	Value     float64
}

// execEnv is what the functions bound at execution need; the zero value
// serves Parse (functions must exist to parse, they never run there).
type execEnv struct {
	ctx   context.Context
	query QueryFunc
	data  *Data
}

// funcs is vmalert's template function set.
func funcs(env *execEnv) template.FuncMap {
	return template.FuncMap{
		// Strings.
		"title":   strings.Title, //nolint:staticcheck // vmalert's title is strings.Title.
		"toUpper": strings.ToUpper,
		"toLower": strings.ToLower,
		"crlfEscape": func(s string) string {
			return strings.ReplaceAll(strings.ReplaceAll(s, "\n", `\n`), "\r", `\r`)
		},
		"quotesEscape": func(s string) string { return jsonString(s, false) },
		"jsonEscape":   func(s string) string { return jsonString(s, true) },
		"htmlEscape":   htmlEscape,
		"stripPort":    stripPort,
		"stripDomain":  stripDomain,
		"match":        regexp.MatchString,
		"reReplaceAll": func(pattern, repl, text string) (string, error) {
			re, err := regexp.Compile(pattern)
			if err != nil {
				return "", err
			}
			return re.ReplaceAllString(text, repl), nil
		},
		"parseDuration": func(s string) (float64, error) {
			d, err := parseDuration(s)
			return d.Seconds(), err
		},
		"parseDurationTime": parseDuration,

		// Numbers.
		"humanize":           humanize,
		"humanize1024":       humanize1024,
		"humanizeDuration":   humanizeDuration,
		"humanizePercentage": humanizePercentage,
		"humanizeTimestamp":  humanizeTimestamp,
		"toTime":             toTime,
		"formatTime":         formatTime,

		// URLs.
		"externalURL": func() string {
			if env.data == nil {
				return ""
			}
			return env.data.ExternalURL
		},
		"pathPrefix": func() string {
			if env.data == nil {
				return ""
			}
			u, err := url.Parse(env.data.ExternalURL)
			if err != nil {
				return ""
			}
			return u.Path
		},
		"pathEscape":  url.PathEscape,
		"queryEscape": url.QueryEscape,

		// Query results.
		"query": func(q string) ([]Metric, error) {
			return runQuery(env, q)
		},
		"first": func(ms []Metric) (Metric, error) {
			if len(ms) == 0 {
				return Metric{}, errors.New("first() called on vector with no elements")
			}
			return ms[0], nil
		},
		"label":    func(name string, m Metric) string { return m.Labels[name] },
		"value":    func(m Metric) float64 { return m.Value },
		"strvalue": func(m Metric) string { return m.Labels[series.MetricName] },
		"sortByLabel": func(name string, ms []Metric) []Metric {
			sort.SliceStable(ms, func(i, j int) bool { return ms[i].Labels[name] < ms[j].Labels[name] })
			return ms
		},

		// Helpers.
		"now": func() float64 {
			if env.data != nil && !env.data.Now.IsZero() {
				return float64(env.data.Now.Unix())
			}
			return float64(time.Now().Unix())
		},
		"args": func(args ...any) map[string]any {
			m := make(map[string]any, len(args))
			for i, a := range args {
				m["arg"+strconv.Itoa(i)] = a
			}
			return m
		},
		"safeHtml": func(s string) htmltemplate.HTML { return htmltemplate.HTML(s) },
	}
}

func runQuery(env *execEnv, q string) ([]Metric, error) {
	if env.query == nil {
		return nil, fmt.Errorf("cannot execute query %q: query is not available in this context", q)
	}
	ctx := env.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	v, err := env.query(ctx, q)
	if err != nil {
		return nil, err
	}
	ms := make([]Metric, 0, len(v))
	for _, p := range v {
		ms = append(ms, Metric{Labels: p.Labels.Map(), Timestamp: p.T / 1000, Value: p.V})
	}
	return ms, nil
}

// parseDuration parses a Prometheus or MetricsQL duration ("1h30m", "1d",
// "90" seconds), in the range vmalert accepts.
func parseDuration(s string) (time.Duration, error) {
	ms, err := metricsql.DurationValue(s, 0)
	if err != nil {
		return 0, err
	}
	const maxMs, minMs = math.MaxInt64 / 1_000_000, math.MinInt64 / 1_000_000
	if ms < minMs || ms > maxMs {
		return 0, fmt.Errorf("duration %q must be in the range [%s, %s]", s, time.Duration(minMs)*time.Millisecond, time.Duration(maxMs)*time.Millisecond)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// toFloat64 accepts the types vmalert's number functions accept.
func toFloat64(v any) (float64, error) {
	switch i := v.(type) {
	case float64:
		return i, nil
	case float32:
		return float64(i), nil
	case int64:
		return float64(i), nil
	case int32:
		return float64(i), nil
	case int:
		return float64(i), nil
	case uint64:
		return float64(i), nil
	case uint32:
		return float64(i), nil
	case uint:
		return float64(i), nil
	case string:
		return strconv.ParseFloat(i, 64)
	}
	return 0, fmt.Errorf("unexpected value type %v", v)
}

var smallPrefixes = []string{"m", "u", "n", "p", "f", "a", "z", "y"}

// scaleDown multiplies |v| < 1 by 1000 until it reaches 1, returning the
// SI prefix of the last step.
func scaleDown(v float64) (float64, string) {
	prefix := ""
	for _, p := range smallPrefixes {
		if math.Abs(v) >= 1 {
			break
		}
		prefix = p
		v *= 1000
	}
	return v, prefix
}

func humanize(i any) (string, error) {
	v, err := toFloat64(i)
	if err != nil {
		return "", err
	}
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v), nil
	}
	if math.Abs(v) >= 1 {
		prefix := ""
		for _, p := range []string{"k", "M", "G", "T", "P", "E", "Z", "Y"} {
			if math.Abs(v) < 1000 {
				break
			}
			prefix = p
			v /= 1000
		}
		return fmt.Sprintf("%.4g%s", v, prefix), nil
	}
	v, prefix := scaleDown(v)
	return fmt.Sprintf("%.4g%s", v, prefix), nil
}

func humanize1024(i any) (string, error) {
	v, err := toFloat64(i)
	if err != nil {
		return "", err
	}
	if math.Abs(v) <= 1 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v), nil
	}
	prefix := ""
	for _, p := range []string{"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"} {
		if math.Abs(v) < 1024 {
			break
		}
		prefix = p
		v /= 1024
	}
	return fmt.Sprintf("%.4g%s", v, prefix), nil
}

func humanizeDuration(i any) (string, error) {
	v, err := toFloat64(i)
	if err != nil {
		return "", err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v), nil
	}
	if v == 0 {
		return fmt.Sprintf("%.4gs", v), nil
	}
	if math.Abs(v) >= 1 {
		sign := ""
		if v < 0 {
			sign, v = "-", -v
		}
		secs := int64(v)
		s, m, h, d := secs%60, secs/60%60, secs/3600%24, secs/86400
		switch {
		case d != 0:
			return fmt.Sprintf("%s%dd %dh %dm %ds", sign, d, h, m, s), nil
		case h != 0:
			return fmt.Sprintf("%s%dh %dm %ds", sign, h, m, s), nil
		case m != 0:
			return fmt.Sprintf("%s%dm %ds", sign, m, s), nil
		}
		return fmt.Sprintf("%s%.4gs", sign, v), nil
	}
	v, prefix := scaleDown(v)
	return fmt.Sprintf("%.4g%ss", v, prefix), nil
}

func humanizePercentage(i any) (string, error) {
	v, err := toFloat64(i)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%.4g%%", v*100), nil
}

// unixTime converts seconds since the epoch to a UTC time with millisecond
// precision, as vmalert does.
func unixTime(v float64) time.Time {
	ms := int64(v * 1e3)
	return time.Unix(ms/1000, (ms%1000)*int64(time.Millisecond)).UTC()
}

func humanizeTimestamp(i any) (string, error) {
	v, err := toFloat64(i)
	if err != nil {
		return "", err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v), nil
	}
	return fmt.Sprint(unixTime(v)), nil
}

func toTime(i any) (time.Time, error) {
	v, err := toFloat64(i)
	if err != nil {
		return time.Time{}, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return time.Time{}, fmt.Errorf("cannot convert %v to time.Time", v)
	}
	return unixTime(v), nil
}

func formatTime(layout string, i any) (string, error) {
	v, err := toFloat64(i)
	if err != nil {
		return "", fmt.Errorf("formatTime: %w", err)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", fmt.Errorf("formatTime: cannot convert %v to time", v)
	}
	return unixTime(v).Format(layout), nil
}

// jsonString escapes s for a JSON string as vmalert's quicktemplate does:
// quotes, backslashes, control characters, '<' and '\”.
func jsonString(s string, quotes bool) string {
	var b strings.Builder
	if quotes {
		b.WriteByte('"')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '<':
			b.WriteString(`\u003c`)
		case '\'':
			b.WriteString(`\u0027`)
		default:
			if c < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	if quotes {
		b.WriteByte('"')
	}
	return b.String()
}

var htmlReplacer = strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;", "&", "&amp;")

func htmlEscape(s string) string { return htmlReplacer.Replace(s) }

func stripPort(hostPort string) string {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return hostPort
	}
	return host
}

func stripDomain(hostPort string) string {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	if net.ParseIP(host) != nil {
		return hostPort
	}
	host, _, _ = strings.Cut(host, ".")
	if port != "" {
		return net.JoinHostPort(host, port)
	}
	return host
}
