package email

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/notify"

	"github.com/hlalert/hlalert/internal/golden"
)

// checkGolden compares got with testdata/name (golden.Check).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

// hostileBatch carries label and annotation values that try to break out
// of their context: HTML, attributes, header injection, newlines that
// fake lines, and non-ASCII.
func hostileBatch() notify.Batch {
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	return notify.Batch{
		Receiver: "ops <b>", GroupKey: "{}:{alertname=\"Evil\"}",
		GroupLabels: map[string]string{"alertname": "Evil<script>alert(1)</script>", "host": "nas\r\nBcc: evil@example.com"},
		ExternalURL: "javascript:alert(1)",
		Seq:         3,
		Alerts: []notify.Alert{
			{
				Labels: map[string]string{
					"alertname": "Evil<script>alert(1)</script>",
					"host":      "nas\r\nBcc: evil@example.com",
					"attr":      `"><img src=x onerror=alert(1)>`,
					"fake":      "x\n    severity = \"none\"",
					"ümlaut":    "Grüße, 日本語 ✓",
				},
				Annotations: map[string]string{
					"summary":     "line one\nline two\r\nSubject: injected",
					"description": "<a href=\"javascript:alert(1)\">click</a>",
				},
				StartsAt:     start,
				Status:       "firing",
				GeneratorURL: "javascript:alert(document.cookie)",
				Fingerprint:  "a",
			},
			{
				Labels:      map[string]string{"alertname": "Evil<script>alert(1)</script>", "host": "nas2"},
				StartsAt:    start.Add(-time.Hour),
				EndsAt:      start.Add(30 * time.Minute),
				Status:      "resolved",
				Fingerprint: "b",
			},
		},
	}
}

func testSettings(t *testing.T) *settings {
	t.Helper()
	c := Config{To: "Öp <op@home.example>", From: "hlalert <hlalert@nas.home.example>", Smarthost: "mail.example:587",
		Headers: map[string]string{"X-Group": "{{ .GroupLabels.host }}"}}
	s, err := c.validate("test", "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefaultTemplatesGolden(t *testing.T) {
	tm, err := NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	s := testSettings(t)
	r, err := tm.render(s, NewData(hostileBatch(), "https://grafana.home/d/x?a=1&b=2"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "hostile.txt", []byte(r.Text))
	checkGolden(t, "hostile.html", []byte(r.HTML))
	checkGolden(t, "hostile.subject", []byte(r.Subject+"\n"))

	for _, bad := range []string{"<script>", "<img", `href="javascript:`} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("HTML body contains %q unescaped", bad)
		}
	}
	if strings.Contains(r.Text, "\n    severity = \"none\"") {
		t.Errorf("a label value faked a line in the text body")
	}

	msg, err := compose(s, r, "k", "ops#0", "root@x", time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	head := msg[:bytes.Index(msg, []byte("\r\n\r\n"))+2]
	// go-mail's multipart boundary is random: normalise it.
	head = regexp.MustCompile(`boundary=\S+`).ReplaceAll(head, []byte("boundary=B"))
	// go-mail writes generic headers in map order: unfold and sort them.
	unfolded := strings.ReplaceAll(strings.TrimSuffix(string(head), "\r\n"), "\r\n ", " ")
	lines := strings.Split(unfolded, "\r\n")
	sort.Strings(lines)
	checkGolden(t, "hostile.headers", []byte(strings.Join(lines, "\n")+"\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") || strings.HasPrefix(strings.ToLower(line), "subject: injected") {
			t.Errorf("header injection: %q", line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("bare CR/LF in header line %q", line)
		}
	}
	e, _, err := envelope(msg, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.rcpts) != 1 || e.rcpts[0] != "op@home.example" {
		t.Errorf("recipients %v, want only op@home.example", e.rcpts)
	}
}

func TestTemplateErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.tmpl")
	if err := os.WriteFile(empty, []byte(`{{ define "hlalert.email.text" }}{{ .CommonLabels.nope }}{{ end }}{{ define "hlalert.email.html" }}{{ if .CommonLabels.nope }}x{{ end }} {{ end }}`), 0o644); err != nil {
		t.Fatal(err)
	}
	q, err := NewQueue(QueueOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := Config{To: "op@home.example", From: "hlalert@nas.home.example", Smarthost: "mail.example:587"}
	_, err = NewSender(SenderOptions{Receivers: map[string][]Config{"ops": {c}}, TemplateFiles: []string{empty}, Queue: q})
	if err == nil || !strings.Contains(err.Error(), `receiver "ops" email_configs[0]: templates: render body`) {
		t.Fatalf("empty templates: got %v", err)
	}
	bad := c
	bad.From, bad.Smarthost, bad.AuthMechanism = "", "nohost", "DIGEST-MD5"
	bad.Headers = map[string]string{"Bcc": "x@y", "Bad Name": "v"}
	_, err = NewSender(SenderOptions{Receivers: map[string][]Config{"ops": {bad}}, Queue: q})
	want := []string{
		`receiver "ops" email_configs[0]: from: required`,
		`receiver "ops" email_configs[0]: smarthost: "nohost": want host:port`,
		`receiver "ops" email_configs[0]: auth_mechanism: "DIGEST-MD5"`,
		`receiver "ops" email_configs[0]: headers: "Bcc": set by hlalert`,
		`receiver "ops" email_configs[0]: headers: "Bad Name": not a valid header name`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("want error containing %q, got:\n%v", w, err)
		}
	}
}
