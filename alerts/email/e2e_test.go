package email

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
	"github.com/hlalert/hlalert/alerts/notify"
)

type mpSummary struct {
	ID, MessageID, Subject string
}

func mpList(t *testing.T, s *realserver.Server) []mpSummary {
	t.Helper()
	var out struct {
		Total    int         `json:"total"`
		Messages []mpSummary `json:"messages"`
	}
	mpGet(t, s, "/api/v1/messages", &out)
	return out.Messages
}

func mpGet(t *testing.T, s *realserver.Server, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit GET %s: decode: %v", path, err)
	}
}

// waitCount polls Mailpit until it holds n messages, then checks that it
// still holds exactly n a moment later (nothing more trickles in).
func waitCount(t *testing.T, s *realserver.Server, n int) []mpSummary {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := mpList(t, s)
		if len(got) >= n {
			if len(got) > n {
				t.Fatalf("mailpit holds %d messages, want %d: %+v", len(got), n, got)
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit holds %d messages after 20s, want %d\n%s", len(got), n, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type fixture struct {
	q   *Queue
	snd *Sender
	dir string
	reg *prometheus.Registry
}

func newFixture(t *testing.T, dir string, c Config) *fixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	q, err := NewQueue(QueueOptions{Dir: dir, Backoff: Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	snd, err := NewSender(SenderOptions{
		Receivers:   map[string][]Config{"ops": {c}},
		GrafanaURL:  "https://grafana.home/d/alerts",
		Queue:       q,
		SMTPTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	snd.Activate()
	return &fixture{q: q, snd: snd, dir: dir, reg: reg}
}

func plainConfig(addr string) Config {
	f := false
	return Config{To: "Operator <op@home.example>, second@home.example", From: "hlalert <hlalert@nas.home.example>", Smarthost: addr, RequireTLS: &f}
}

func batch(seq uint64, status string) notify.Batch {
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	a := notify.Alert{
		Labels:       map[string]string{"alertname": "BackupStale", "host": "nas", "severity": "critical"},
		Annotations:  map[string]string{"summary": "Backup of nas is 3 days old"},
		StartsAt:     start,
		Status:       status,
		GeneratorURL: "http://hlalert.home/rules#BackupStale",
		Fingerprint:  "fp1",
	}
	if status == "resolved" {
		a.EndsAt = start.Add(time.Hour)
	}
	return notify.Batch{
		Receiver: "ops", GroupKey: `{}:{alertname="BackupStale"}`,
		GroupLabels: map[string]string{"alertname": "BackupStale"},
		Alerts:      []notify.Alert{a}, ExternalURL: "http://hlalert.home/", Seq: seq,
	}
}

func TestMailpitFiringThenResolvedThreaded(t *testing.T) {
	mp := realserver.StartMailpit(t)
	f := newFixture(t, t.TempDir(), plainConfig(mp.SMTPAddr))
	ctx := context.Background()
	for range 2 { // the second Send is a retry of the same flush: no second mail
		if err := f.snd.Send(ctx, batch(1, "firing")); err != nil {
			t.Fatal(err)
		}
	}
	f.q.DeliverDue(ctx)
	msgs := waitCount(t, mp, 1)
	if got, want := msgs[0].Subject, "[FIRING:1] BackupStale"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	var full struct{ Text, HTML string }
	mpGet(t, mp, "/api/v1/message/"+msgs[0].ID, &full)
	for _, want := range []string{"1 alert(s) FIRING", `host = "nas"`, "Backup of nas is 3 days old", "Status page: http://hlalert.home/", "Grafana: https://grafana.home/d/alerts"} {
		if !strings.Contains(full.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, full.Text)
		}
	}
	if !strings.Contains(full.HTML, `<a href="https://grafana.home/d/alerts">Grafana</a>`) {
		t.Errorf("html body lacks the Grafana link:\n%s", full.HTML)
	}
	var h1 map[string][]string
	mpGet(t, mp, "/api/v1/message/"+msgs[0].ID+"/headers", &h1)
	for _, k := range []string{"Message-Id", "In-Reply-To", "References", "Auto-Submitted"} {
		if len(h1[k]) != 1 {
			t.Errorf("first mail header %s = %q, want one value; headers %v", k, h1[k], h1)
		}
	}
	if _, ok := h1[TransportHeader]; ok {
		t.Errorf("internal header %s reached the recipient", TransportHeader)
	}
	if got := h1["To"]; len(got) != 1 || !strings.Contains(got[0], "op@home.example") || !strings.Contains(got[0], "second@home.example") {
		t.Errorf("To = %q", got)
	}

	if err := f.snd.Send(ctx, batch(2, "resolved")); err != nil {
		t.Fatal(err)
	}
	f.q.DeliverDue(ctx)
	msgs = waitCount(t, mp, 2)
	var resolved mpSummary
	for _, m := range msgs {
		if strings.HasPrefix(m.Subject, "[RESOLVED]") {
			resolved = m
		}
	}
	if resolved.ID == "" {
		t.Fatalf("no resolved mail: %+v", msgs)
	}
	var h2 map[string][]string
	mpGet(t, mp, "/api/v1/message/"+resolved.ID+"/headers", &h2)
	if h2["In-Reply-To"][0] != h1["In-Reply-To"][0] || h2["References"][0] != h1["References"][0] {
		t.Errorf("resolved mail not threaded with the first: In-Reply-To %q vs %q, References %q vs %q",
			h2["In-Reply-To"], h1["In-Reply-To"], h2["References"], h1["References"])
	}
	if h2["Message-Id"][0] == h1["Message-Id"][0] {
		t.Errorf("both mails share Message-ID %q", h1["Message-Id"])
	}
	if got := testutil.ToFloat64(f.q.m.sent); got != 2 {
		t.Errorf("hlalert_email_sent_total = %v, want 2", got)
	}
	if got := testutil.ToFloat64(f.q.m.queued); got != 0 {
		t.Errorf("hlalert_email_queued = %v, want 0", got)
	}
}

func TestMailpitOutageAndRestartExactlyOnce(t *testing.T) {
	mp := realserver.StartMailpit(t)
	mp.Stop()
	dir := t.TempDir()
	ctx := context.Background()
	f := newFixture(t, dir, plainConfig(mp.SMTPAddr))
	for seq := uint64(1); seq <= 3; seq++ {
		b := batch(seq, "firing")
		b.GroupKey += string(rune('a' + seq))
		if err := f.snd.Send(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // several failed attempts while SMTP is down
		f.q.DeliverDue(ctx)
		time.Sleep(5 * time.Millisecond) // let the 1–4ms backoff expire: real SMTP, real time
	}
	if got := testutil.ToFloat64(f.q.m.failures); got < 3 {
		t.Errorf("delivery failures = %v, want >= 3", got)
	}
	if got := testutil.ToFloat64(f.q.m.queued); got != 3 {
		t.Errorf("queued = %v, want 3", got)
	}
	// "restart" during the outage: a new deliverer on the same folder.
	f2 := newFixture(t, dir, plainConfig(mp.SMTPAddr))
	f2.q.DeliverDue(ctx)
	mp.Restart(t, "/readyz")
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- f2.q.Run(ctx2) }()
	msgs := waitCount(t, mp, 3)
	// Retried batches after the restart add nothing.
	for seq := uint64(1); seq <= 3; seq++ {
		b := batch(seq, "firing")
		b.GroupKey += string(rune('a' + seq))
		if err := f2.snd.Send(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	f2.q.DeliverDue(ctx)
	cancel()
	<-done
	msgs = waitCount(t, mp, 3)
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.MessageID] {
			t.Errorf("message %s delivered twice", m.MessageID)
		}
		seen[m.MessageID] = true
	}
	left, _ := f2.q.Pending()
	if len(left) != 0 {
		t.Errorf("still queued: %v", left)
	}
	sent, _ := filepath.Glob(filepath.Join(dir, "sent", "*.eml"))
	if len(sent) != 3 {
		t.Errorf("sent/ holds %d files, want 3", len(sent))
	}
}

func TestMailpitRequiredSTARTTLSRefused(t *testing.T) {
	mp := realserver.StartMailpit(t)
	c := plainConfig(mp.SMTPAddr)
	c.RequireTLS = nil // default: STARTTLS required
	f := newFixture(t, t.TempDir(), c)
	ctx := context.Background()
	if err := f.snd.Send(ctx, batch(1, "firing")); err != nil {
		t.Fatal(err)
	}
	f.q.DeliverDue(ctx)
	err := f.q.LastError(TransportName("ops", 0))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("want a STARTTLS refusal, got %v", err)
	}
	if n := len(mpList(t, mp)); n != 0 {
		t.Fatalf("mailpit received %d messages over plaintext", n)
	}
	if left, _ := f.q.Pending(); len(left) != 1 {
		t.Fatalf("message not kept in the queue: %v", left)
	}
}

func TestMailpitImplicitTLSWithAuth(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	mp := realserver.StartMailpit(t, "--smtp-tls-cert="+cert, "--smtp-tls-key="+key, "--smtp-require-tls", "--smtp-auth-accept-any")
	yes := true
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{
		To: "op@home.example", From: "hlalert@nas.home.example", Smarthost: mp.SMTPAddr,
		ForceImplicitTLS: &yes, AuthUsername: "hlalert", AuthPasswordFile: pw, AuthMechanism: "PLAIN",
	}
	c.TLSConfig.CAFile = ca
	c.TLSConfig.ServerName = "localhost"
	f := newFixture(t, t.TempDir(), c)
	ctx := context.Background()
	if err := f.snd.Send(ctx, batch(1, "firing")); err != nil {
		t.Fatal(err)
	}
	f.q.DeliverDue(ctx)
	if err := f.q.LastError(TransportName("ops", 0)); err != nil {
		t.Fatalf("implicit TLS delivery: %v\n%s", err, mp.Log())
	}
	waitCount(t, mp, 1)
}

// writeTestPKI writes a CA and a server certificate for localhost and
// 127.0.0.1, and returns the CA, certificate and key paths.
func writeTestPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hlalert test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "EC PRIVATE KEY", keyDER)
}
