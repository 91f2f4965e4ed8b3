package tmpl

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// fakeQuery answers the queries the tests use from a fixed table.
func fakeQuery(_ context.Context, expr string) (series.Vector, error) {
	switch expr {
	case "up":
		return series.Vector{
			{Labels: series.FromStrings("__name__", "up", "instance", "nas:9100", "job", "node"), T: 946684860000, V: 1},
			{Labels: series.FromStrings("__name__", "up", "instance", "ha:9100", "job", "node"), T: 946684860000, V: 0},
		}, nil
	case "empty":
		return nil, nil
	}
	return nil, errors.New("bad query " + expr)
}

func TestExecute(t *testing.T) {
	d := Data{
		Labels:         map[string]string{"instance": "nas.home.lan:9100", "job": "backup", "path": "/mnt/pool"},
		Value:          1234567,
		Expr:           `up == 0`,
		ActiveAt:       time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		For:            5 * time.Minute,
		AlertID:        42,
		GroupID:        7,
		ExternalLabels: map[string]string{"cluster": "home"},
		ExternalURL:    "https://alerts.home.lan/hlalert/",
		Type:           "prometheus",
		Interval:       time.Minute,
		Now:            time.Unix(1679055557, 0),
	}
	tests := []struct{ text, want string }{
		// Not a template: verbatim, as vmalert does.
		{"plain {{ text", "plain {{ text"},
		// Header variables.
		{"{{ $labels.instance }} {{ $value }} {{ $expr }}", "nas.home.lan:9100 1.234567e+06 up == 0"},
		{"{{ $externalLabels.cluster }} {{ $externalURL }} {{ $alertID }} {{ $groupID }}", "home https://alerts.home.lan/hlalert/ 42 7"},
		{"{{ $activeAt.Unix }} {{ $for }} {{ $type }} {{ $interval }} {{ $isPartial }}", "1793527200 5m0s prometheus 1m0s false"},
		{"{{ .Labels.job }} {{ .Value }} {{ $.Expr }}", "backup 1.234567e+06 up == 0"},
		{"[{{ $labels.missing }}]", "[]"},
		// Strings (vmalert's template_test.go).
		{`{{ "foo bar" | title }}`, "Foo Bar"},
		{`{{ "foo" | toUpper }}`, "FOO"},
		{`{{ "FOO" | toLower }}`, "foo"},
		{`{{ "foo/bar\n+baz" | pathEscape }}`, "foo%2Fbar%0A+baz"},
		{`{{ "foo+bar\n+baz" | queryEscape }}`, "foo%2Bbar%0A%2Bbaz"},
		{`{{ "foo{bar=\"baz\"}\n + 1" | jsonEscape }}`, `"foo{bar=\"baz\"}\n + 1"`},
		{`{{ "foo{bar=\"baz\"}\n + 1" | quotesEscape }}`, `foo{bar=\"baz\"}\n + 1`},
		{`{{ "a<b'c\x01" | quotesEscape }}`, `a\u003cb\u0027c\u0001`},
		{`{{ "foo < 10\nabc" | htmlEscape }}`, "foo &lt; 10\nabc"},
		{`{{ "<a href=\"x\">&'" | htmlEscape }}`, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"},
		{`{{ "foo\nbar\rx" | crlfEscape }}`, `foo\nbar\rx`},
		{`{{ "foo" | stripPort }} {{ "foo:1234" | stripPort }} {{ "[::1]:80" | stripPort }}`, "foo foo ::1"},
		{`{{ "foo.bar.baz" | stripDomain }} {{ "foo.bar:123" | stripDomain }} {{ "10.0.0.1:80" | stripDomain }}`, "foo foo:123 10.0.0.1:80"},
		{`{{ $labels.instance | stripDomain }}`, "nas:9100"},
		{`{{ if match "^nas" $labels.instance }}yes{{ else }}no{{ end }}`, "yes"},
		{`{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}`, "nas.home.lan"},
		{`{{ parseDuration "1h30m" }} {{ parseDuration "1d" }} {{ parseDurationTime "90s" }}`, "5400 86400 1m30s"},
		// Numbers (vmalert's template_test.go).
		{`{{ humanize 127087 }} {{ humanize 136458627186688 }} {{ humanize 0 }} {{ humanize 0.0012 }} {{ humanize -1500 }}`, "127.1k 136.5T 0 1.2m -1.5k"},
		{`{{ humanize1024 0 }} {{ humanize1024 127087 }} {{ humanize1024 130137088 }} {{ humanize1024 153638755637364377925883789312.0 }}`, "0 124.1ki 124.1Mi 1.271e+05Yi"},
		{`{{ humanizeDuration 1 }} {{ humanizeDuration 0.2 }} {{ humanizeDuration 42000 }} {{ humanizeDuration 16790555 }} {{ humanizeDuration 0 }} {{ humanizeDuration -90 }}`, "1s 200ms 11h 40m 0s 194d 8h 2m 35s 0s -1m 30s"},
		{`{{ humanizePercentage 1 }} {{ humanizePercentage 0.8 }} {{ humanizePercentage 0.015 }}`, "100% 80% 1.5%"},
		{`{{ humanizeTimestamp 1679055557 }}`, "2023-03-17 12:19:17 +0000 UTC"},
		{`{{ humanizeTimestamp 1679055557.5 }}`, "2023-03-17 12:19:17.5 +0000 UTC"},
		{`{{ $value | humanize }}`, "1.235M"},
		{`{{ "1500" | humanize }}`, "1.5k"},
		{`{{ (1679055557 | toTime).Year }}`, "2023"},
		{`{{ 1679055557 | formatTime "2006-01-02T15:04:05Z07:00" }}`, "2023-03-17T12:19:17Z"},
		{`{{ now | formatTime "02 Jan 06 15:04 MST" }}`, "17 Mar 23 12:19 UTC"},
		{`{{ ((now | toTime).Sub $activeAt).Hours | printf "%.0f" }}`, "-31798"},
		// URLs.
		{`{{ externalURL }} {{ pathPrefix }}`, "https://alerts.home.lan/hlalert/ /hlalert/"},
		// Query results.
		{`{{ query "up" | first | value }}`, "1"},
		{`{{ query "up" | first | label "instance" }} {{ query "up" | first | strvalue }}`, "nas:9100 up"},
		{`{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }},{{ end }}`, "ha:9100=0,nas:9100=1,"},
		{`{{ with query "up" }}{{ (index . 0).Timestamp }}{{ end }}`, "946684860"},
		{`{{ range query "empty" }}x{{ else }}none{{ end }}`, "none"},
		// Helpers.
		{`{{ define "t1" }}{{ .arg0 }}-{{ .arg1 }}{{ end }}{{ template "t1" args 1 "b" }}`, "1-b"},
		{`{{ "<b>" | safeHtml }}`, "<b>"},
		{"line1\n{{ $labels.job }}\nline3", "line1\nbackup\nline3"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			tp, err := Parse("x", tc.text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := tp.Execute(context.Background(), d, fakeQuery)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExecuteErrors(t *testing.T) {
	tests := []struct {
		text  string
		query QueryFunc
		want  string
	}{
		{`{{ query "empty" | first | value }}`, fakeQuery, "x:1:20: at <first>: error calling first: first() called on vector with no elements"},
		{`{{ query "up" }}`, nil, `x:1:4: at <query "up">: error calling query: cannot execute query "up": query is not available in this context`},
		{"ok\n  {{ query \"nope\" }}", fakeQuery, `x:2:6: at <query "nope">: error calling query: bad query nope`},
		{`{{ humanize "abc" }}`, fakeQuery, `x:1:4: at <humanize "abc">: error calling humanize: strconv.ParseFloat: parsing "abc": invalid syntax`},
		{`{{ $for | humanizeDuration }}`, fakeQuery, "x:1:11: at <humanizeDuration>: error calling humanizeDuration: unexpected value type 5m0s"},
		{`{{ reReplaceAll "(" "" "x" }}`, fakeQuery, "x:1:4: at <reReplaceAll \"(\" \"\" \"x\">: error calling reReplaceAll: error parsing regexp: missing closing ): `(`"},
		{`{{ parseDuration "soon" }}`, fakeQuery, `x:1:4: at <parseDuration "soon">: error calling parseDuration: cannot parse duration "soon"`},
		{`{{ toTime "NaN" }}`, fakeQuery, `x:1:4: at <toTime "NaN">: error calling toTime: cannot convert NaN to time.Time`},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			tp, err := Parse("x", tc.text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = tp.Execute(context.Background(), Data{For: 5 * time.Minute}, tc.query)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{`{{ $lables.instance }}`, `x:1:4: undefined variable "$lables"`},
		{"a\nb {{ .Value | nosuch }}", `x:2:15: function "nosuch" not defined`},
		{`{{ .Lables.instance }}`, `x:1:4: field "Lables" not defined: the alert data has ` + fieldList()},
		{`{{ $.Valu }}`, `x:1:4: field "Valu" not defined: the alert data has ` + fieldList()},
		{`{{ if .Labels }}{{ .Nope }}{{ end }}`, `x:1:20: field "Nope" not defined: the alert data has ` + fieldList()},
		{`{{ template "missing" }}`, `x:1:13: template "missing" not defined (hlalert does not load vmalert's -rule.templates files)`},
		{`{{ if }}`, "x:1: missing value for if"},
		{"{{ range $labels }}\n{{ end }", `x:2: unexpected "}" in end`},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			_, err := Parse("x", tc.text)
			if err == nil {
				t.Fatal("no error")
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

// Inside range and with, dot is not the alert data: fields are not checked.
func TestParseFieldsUnderRange(t *testing.T) {
	for _, text := range []string{
		`{{ range query "up" }}{{ .Labels.instance }}{{ .Timestamp }}{{ end }}`,
		`{{ with query "up" | first }}{{ .Value }}{{ end }}`,
	} {
		if _, err := Parse("x", text); err != nil {
			t.Errorf("Parse(%q): %v", text, err)
		}
	}
}

func TestHumanizeSpecials(t *testing.T) {
	for _, tc := range []struct {
		f    func(any) (string, error)
		v    float64
		want string
	}{
		{humanize, math.Inf(1), "+Inf"},
		{humanize, math.NaN(), "NaN"},
		{humanize1024, math.Inf(-1), "-Inf"},
		{humanize1024, 1, "1"},
		{humanizeDuration, math.NaN(), "NaN"},
		{humanizeTimestamp, math.Inf(1), "+Inf"},
		{humanizeDuration, 0.0000005, "500ns"},
	} {
		got, err := tc.f(tc.v)
		if err != nil || got != tc.want {
			t.Errorf("%v -> %q, %v; want %q", tc.v, got, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"{{ $labels.instance }}", "{{ query \"up\" | first | value | humanize }}",
		"{{ range . }}{{ .X }}{{ end }}", "{{ template \"a\" }}", "{{", "{{ if }}}}",
	} {
		f.Add(s)
	}
	// Seeds from the rule testdata's annotations.
	paths, _ := filepath.Glob("../rulefmt/testdata/*.yaml")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "{{") {
				f.Add(line)
			}
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		tp, err := Parse("f", text)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v is a %T", err, err)
			}
			if te.Line < 1 {
				t.Fatalf("error %v has no line", err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = tp.Execute(ctx, Data{}, fakeQuery)
	})
}

// One parsed template serves every alert of a rule, from concurrent group
// evaluations.
func TestExecuteConcurrent(t *testing.T) {
	tp, err := Parse("c", `{{ $labels.i }} {{ query "up" | first | value }}`)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			want := strings.Repeat("x", i) + " 1"
			got, err := tp.Execute(context.Background(), Data{Labels: map[string]string{"i": strings.Repeat("x", i)}}, fakeQuery)
			if err == nil && got != want {
				err = errors.New("got " + got + ", want " + want)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkExecute renders a typical annotation (labels, humanize) repeatedly.
func BenchmarkExecute(b *testing.B) {
	t, err := Parse("summary", `{{ $labels.instance }} on {{ $labels.job }} is at {{ $value | humanizePercentage }} ({{ $value | humanize }})`)
	if err != nil {
		b.Fatal(err)
	}
	d := Data{Labels: map[string]string{"instance": "nas:9100", "job": "node"}, Value: 0.93, ActiveAt: time.Unix(1700000000, 0)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Execute(context.Background(), d, nil); err != nil {
			b.Fatal(err)
		}
	}
}
