package outbox

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/evaluator"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func notifications() []evaluator.Notification {
	return []evaluator.Notification{
		{Group: "backups", Rule: "BackupStale", ExternalURL: "http://nas.home:8880", Alert: rule.Alert{
			Labels:      series.FromStrings("alertname", "BackupStale", "alertgroup", "backups", "repo", "photos", "severity", "page"),
			Annotations: map[string]string{"summary": "Sauvegarde « photos » périmée", "description": "last success 25h ago\nrun `restic snapshots`"},
			State:       rule.StateFiring, ActiveAt: t0.Add(-20 * time.Minute), FiredAt: t0.Add(-10 * time.Minute), LastValue: 90061.5,
		}},
		{Group: "backups", Rule: "BackupStale", ExternalURL: "http://nas.home:8880", Alert: rule.Alert{
			Labels:      series.FromStrings("alertname", "BackupStale", "alertgroup", "backups", "repo", "nas", "severity", "page"),
			Annotations: map[string]string{"summary": "backup nas is stale"},
			State:       rule.StateFiring, ActiveAt: t0.Add(-15 * time.Minute), FiredAt: t0.Add(-5 * time.Minute), LastValue: 86500,
		}},
		{Group: "disks", Rule: "ZpoolDegraded", ExternalURL: "http://nas.home:8880", Alert: rule.Alert{
			Labels: series.FromStrings("alertname", "ZpoolDegraded", "alertgroup", "disks", "pool", "tank"),
			State:  rule.StateInactive, ActiveAt: t0.Add(-time.Hour), FiredAt: t0.Add(-50 * time.Minute), ResolvedAt: t0, LastValue: 0,
		}},
	}
}

func newOutbox(t *testing.T, reg prometheus.Registerer) (*Outbox, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := New(Options{Dir: dir, From: "hlalert <hlalert@nas.home>", To: []string{"Zoé <zoe@example.org>", "ops@example.org"},
		Logger: slog.New(slog.DiscardHandler), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return o, dir
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestNotifyGolden(t *testing.T) {
	reg := prometheus.NewRegistry()
	o, dir := newOutbox(t, reg)
	if err := o.Notify(t.Context(), notifications()); err != nil {
		t.Fatal(err)
	}
	names := files(t, dir)
	if len(names) != 2 {
		t.Fatalf("want 2 messages (backups firing, disks resolved), got %v", names)
	}
	for i, want := range []string{"20260301T115500Z-firing-", "20260301T120000Z-resolved-"} {
		if !strings.HasPrefix(names[i], want) || !strings.HasSuffix(names[i], ".eml") {
			t.Errorf("file %s, want %s<hash>.eml", names[i], want)
		}
	}
	for i, name := range names {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", []string{"firing.eml", "resolved.eml"}[i])
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (-update to accept):\n%s", name, golden, got)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(got))
		if err != nil {
			t.Fatalf("%s is not an RFC 5322 message: %v", name, err)
		}
		if _, err := msg.Header.AddressList("To"); err != nil {
			t.Errorf("To: %v", err)
		}
	}
	// Retried: the same files, nothing added.
	if err := o.Notify(t.Context(), notifications()); err != nil {
		t.Fatal(err)
	}
	if again := files(t, dir); !slices.Equal(again, names) {
		t.Errorf("a retry changed the outbox: %v, want %v", again, names)
	}
	if v := testutil.ToFloat64(o.written); v != 2 {
		t.Errorf("written = %v, want 2", v)
	}
	// A later event of the same alert is a new message.
	later := notifications()[:1]
	later[0].Alert.FiredAt = t0.Add(time.Hour)
	if err := o.Notify(t.Context(), later); err != nil {
		t.Fatal(err)
	}
	if n := len(files(t, dir)); n != 3 {
		t.Errorf("want a third message for a new event, got %d files", n)
	}
}

func TestHostileValuesCannotAddHeaders(t *testing.T) {
	hostile := "x\r\nBcc: evil@example.com\r\n\r\nfake body\nSubject: spoofed\x00\x1b[31m"
	ns := []evaluator.Notification{{Group: hostile, Rule: hostile, ExternalURL: hostile, Alert: rule.Alert{
		Labels:      series.FromStrings("alertname", hostile, hostile, hostile),
		Annotations: map[string]string{hostile: hostile},
		State:       rule.StateFiring, FiredAt: t0,
	}}}
	checkMessage(t, ns)
}

// checkMessage renders ns and checks the result is a well-formed message
// with exactly the expected headers, a one-line subject, and every label
// value shown quoted in the body.
func checkMessage(t *testing.T, ns []evaluator.Notification) {
	t.Helper()
	env := Envelope{From: &mail.Address{Name: "hlalert", Address: "hlalert@nas.home"}, To: []*mail.Address{{Address: "ops@example.org"}}}
	for _, m := range Compose(ns) {
		raw := m.RFC5322(env)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("not a message: %v\n%q", err, raw)
		}
		var keys []string
		for k := range msg.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To", "X-Hlalert-Status"}
		if !slices.Equal(keys, want) {
			t.Fatalf("headers %v, want %v\n%q", keys, want, raw)
		}
		for k, vs := range msg.Header {
			if len(vs) != 1 {
				t.Errorf("header %s appears %d times", k, len(vs))
			}
		}
		subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatalf("subject %q: %v", msg.Header.Get("Subject"), err)
		}
		if strings.ContainsAny(subj, "\r\n\x00") || subj != m.Subject() {
			t.Errorf("subject %q decodes to %q, want the one-line %q", msg.Header.Get("Subject"), subj, m.Subject())
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatalf("body: %v", err)
		}
		for _, n := range m.Alerts {
			for _, l := range n.Alert.Labels {
				if !strings.Contains(string(body), strconv.Quote(l.Value)) {
					t.Errorf("body lacks label value %q quoted", l.Value)
				}
			}
		}
	}
}

func FuzzRFC5322(f *testing.F) {
	f.Add("BackupStale", "backups", "repo", "photos", "Sauvegarde « photos » périmée")
	f.Add("x\r\nBcc: a@b", "g\n", "l", "v\r\n\r\nbody", "=?utf-8?q?x?=")
	f.Add("", "", "a", "", "\xff\xfe")
	f.Fuzz(func(t *testing.T, rule1, group, name, value, annotation string) {
		ls := series.FromStrings("alertname", rule1, name, value)
		checkMessage(t, []evaluator.Notification{{Group: group, Rule: rule1, Alert: rule.Alert{
			Labels: ls, Annotations: map[string]string{"summary": annotation}, State: rule.StateFiring, FiredAt: t0,
		}}})
	})
}

func TestOptionsValidate(t *testing.T) {
	_, err := New(Options{From: "not an address\r\nBcc: x@y", To: []string{"ok@example.org", "bad"}})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"outbox: dir: required", "outbox: from:", `outbox: to[1]: "bad"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	o, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("placeholders: %v", err)
	}
	if o.env.From.String() != `"hlalert" <hlalert@localhost>` || len(o.env.To) != 1 || o.env.To[0].Address != "root@localhost" {
		t.Errorf("placeholders: from %v to %v", o.env.From, o.env.To)
	}
}

func TestWriteFailureIsReported(t *testing.T) {
	reg := prometheus.NewRegistry()
	o, dir := newOutbox(t, reg)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil { // the folder is now a file
		t.Fatal(err)
	}
	err := o.Notify(t.Context(), notifications())
	if err == nil || !strings.Contains(err.Error(), "outbox: create temp file") {
		t.Errorf("Notify: %v", err)
	}
	if v := testutil.ToFloat64(o.failed); v != 2 {
		t.Errorf("failed = %v, want 2", v)
	}
}
