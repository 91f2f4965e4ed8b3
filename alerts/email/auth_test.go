package email

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hlalert/hlalert/alerts/internal/realserver"
)

// fakeSMTP is a minimal SMTP server advertising AUTH XOAUTH2; it records
// the decoded AUTH payloads and the number of accepted messages.
type fakeSMTP struct {
	ln       net.Listener
	mu       sync.Mutex
	auths    []string
	accepted int
}

func startFakeSMTP(t *testing.T) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMTP{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { c.Write([]byte(s + "\r\n")) }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(strings.Fields(line + " x")[0])
		switch cmd {
		case "EHLO":
			say("250-fake")
			say("250 AUTH XOAUTH2")
		case "AUTH":
			parts := strings.Fields(line)
			if len(parts) < 3 {
				say("334 ")
				l, _ := r.ReadString('\n')
				parts = append(parts, strings.TrimSpace(l))
			}
			b, _ := base64.StdEncoding.DecodeString(parts[2])
			f.mu.Lock()
			f.auths = append(f.auths, string(b))
			f.mu.Unlock()
			say("235 ok")
		case "MAIL", "RCPT", "RSET", "NOOP":
			say("250 ok")
		case "DATA":
			say("354 go")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			f.mu.Lock()
			f.accepted++
			f.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

// XOAUTH2: the token file is re-read for every connection (tokens rotate).
func TestXOAUTH2TokenReread(t *testing.T) {
	srv := startFakeSMTP(t)
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	no := false
	c := Config{To: "op@home.example", From: "hlalert@nas.home.example", Smarthost: srv.ln.Addr().String(), RequireTLS: &no,
		AuthUsername: "hlalert@nas.home.example", AuthMechanism: "xoauth2", AuthTokenFile: tok}
	if err := os.WriteFile(tok, []byte("token-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, t.TempDir(), c)
	ctx := context.Background()
	for i, token := range []string{"token-one", "token-two"} {
		if err := os.WriteFile(tok, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := f.snd.Send(ctx, batch(uint64(i+1), "firing")); err != nil {
			t.Fatal(err)
		}
		f.q.DeliverDue(ctx)
		if err := f.q.LastError(TransportName("ops", 0)); err != nil {
			t.Fatal(err)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	want := []string{
		"user=hlalert@nas.home.example\x01auth=Bearer token-one\x01\x01",
		"user=hlalert@nas.home.example\x01auth=Bearer token-two\x01\x01",
	}
	if len(srv.auths) != 2 || srv.auths[0] != want[0] || srv.auths[1] != want[1] || srv.accepted != 2 {
		t.Fatalf("auths %q accepted %d, want %q", srv.auths, srv.accepted, want)
	}
}

// STARTTLS (required, the default) with PLAIN and LOGIN against Mailpit
// offering STARTTLS with a test CA.
func TestMailpitSTARTTLSAuth(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	mp := realserver.StartMailpit(t, "--smtp-tls-cert="+cert, "--smtp-tls-key="+key, "--smtp-require-starttls", "--smtp-auth-accept-any")
	for i, mech := range []string{"PLAIN", "LOGIN", ""} {
		c := Config{To: "op@home.example", From: "hlalert@nas.home.example", Smarthost: mp.SMTPAddr,
			AuthUsername: "hlalert", AuthPassword: "pw", AuthMechanism: mech}
		c.TLSConfig.CAFile = ca
		c.TLSConfig.ServerName = "localhost"
		f := newFixture(t, t.TempDir(), c)
		ctx := context.Background()
		if err := f.snd.Send(ctx, batch(uint64(i+1), "firing")); err != nil {
			t.Fatal(err)
		}
		f.q.DeliverDue(ctx)
		if err := f.q.LastError(TransportName("ops", 0)); err != nil {
			t.Fatalf("STARTTLS + %q: %v\n%s", mech, err, mp.Log())
		}
	}
	waitCount(t, mp, 3)
}
