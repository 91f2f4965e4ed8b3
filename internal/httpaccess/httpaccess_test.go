package httpaccess

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/internal/authuser"
	"github.com/hlalert/hlalert/internal/httpaccess/accesstest"
)

var quiet = slog.New(slog.DiscardHandler)

// start serves a handler that answers with the authenticated user through
// a (real) web config on 127.0.0.1 and returns its address.
func start(t *testing.T, webConfig string) (*Access, string) {
	t.Helper()
	a, err := New(Options{WebConfigFile: webConfig, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := a.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "user="+authuser.From(r.Context()))
	})}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ln, srv) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return a, ln.Addr().String()
}

func get(t *testing.T, c *http.Client, url, user, pass string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestBasicAuth(t *testing.T) {
	wc := accesstest.Write(t, accesstest.Spec{BasicAuth: true})
	a, addr := start(t, wc.Path)
	if !a.Authenticated() {
		t.Error("basic auth users do not count as authentication")
	}
	c := &http.Client{}
	for _, tc := range []struct {
		user, pass string
		code       int
		body       string
	}{
		{"", "", 401, ""},
		{accesstest.User, "wrong password", 401, ""},
		{"mallory", accesstest.Password, 401, ""},
		{accesstest.User, accesstest.Password, 200, "user=admin"},
	} {
		code, body, err := get(t, c, "http://"+addr+"/", tc.user, tc.pass)
		if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || (tc.body != "" && body != tc.body) {
			t.Errorf("%s/%s: %d %q, want %d %q", tc.user, tc.pass, code, body, tc.code, tc.body)
		}
	}
}

// Without basic_auth_users the toolkit checks no password, so a name in an
// Authorization header is not an authenticated user.
func TestNoUserWithoutBasicAuth(t *testing.T) {
	wc := accesstest.Write(t, accesstest.Spec{TLS: true})
	_, addr := start(t, wc.Path)
	code, body, err := get(t, wc.HTTPClient(false), "https://"+addr+"/", "mallory", "anything")
	if err != nil || code != 200 || body != "user=" {
		t.Errorf("%d %q %v, want 200 with no user", code, body, err)
	}
}

func TestTLSWithTestCA(t *testing.T) {
	wc := accesstest.Write(t, accesstest.Spec{TLS: true, BasicAuth: true})
	_, addr := start(t, wc.Path)
	code, body, err := get(t, wc.HTTPClient(false), "https://"+addr+"/", accesstest.User, accesstest.Password)
	if err != nil || code != 200 || body != "user=admin" {
		t.Fatalf("HTTPS with the test CA: %d %q %v", code, body, err)
	}
	if code, _, _ := get(t, wc.HTTPClient(false), "https://"+addr+"/", accesstest.User, "wrong"); code != 401 {
		t.Errorf("wrong password over TLS: %d, want 401", code)
	}
	// A client that does not trust the test CA, and plain HTTP, fail.
	if _, _, err := get(t, &http.Client{}, "https://"+addr+"/", accesstest.User, accesstest.Password); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted CA: %v, want a certificate error", err)
	}
	if code, _, err := get(t, &http.Client{}, "http://"+addr+"/", accesstest.User, accesstest.Password); err == nil && code == 200 {
		t.Error("plain HTTP answered on the TLS listener")
	}
}

func TestClientCertificates(t *testing.T) {
	wc := accesstest.Write(t, accesstest.Spec{ClientAuth: "RequireAndVerifyClientCert"})
	a, addr := start(t, wc.Path)
	if !a.Authenticated() {
		t.Error("verified client certificates do not count as authentication")
	}
	if err := a.CheckAddress("0.0.0.0:9808"); err != nil {
		t.Errorf("remote listen with client certificates refused: %v", err)
	}
	if code, _, err := get(t, wc.HTTPClient(true), "https://"+addr+"/", "", ""); err != nil || code != 200 {
		t.Errorf("with the client certificate: %d %v", code, err)
	}
	if _, _, err := get(t, wc.HTTPClient(false), "https://"+addr+"/", "", ""); err == nil {
		t.Error("a client without certificate was served")
	}
}

func TestRemoteListenNeedsAuthentication(t *testing.T) {
	tlsOnly := accesstest.Write(t, accesstest.Spec{TLS: true}).Path
	anyCert := accesstest.Write(t, accesstest.Spec{ClientAuth: "RequireAnyClientCert"}).Path
	users := accesstest.Write(t, accesstest.Spec{BasicAuth: true}).Path
	for _, tc := range []struct {
		webConfig string
		allow     bool
		addr      string
		want      string // "" accepted
	}{
		{"", false, "127.0.0.1:8880", ""},
		{"", false, "[::1]:8880", ""},
		{"", false, "localhost:8880", ""},
		{"", false, "0.0.0.0:8880", "refusing to listen on 0.0.0.0:8880 without authentication: the address is not loopback and no --web.config.file is given"},
		{"", false, ":8880", "refusing to listen on :8880"},
		{"", false, "192.168.1.10:8880", "--web.allow-unauthenticated-remote"},
		{"", false, "nas.lan:8880", "refusing to listen on nas.lan:8880"},
		{"", true, "0.0.0.0:8880", ""},
		{tlsOnly, false, "0.0.0.0:8880", "the --web.config.file file has no basic_auth_users and requires no verified client certificate"},
		{anyCert, false, "0.0.0.0:8880", "refusing to listen"},
		{users, false, "0.0.0.0:8880", ""},
	} {
		a, err := New(Options{WebConfigFile: tc.webConfig, AllowUnauthenticatedRemote: tc.allow, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		err = a.CheckAddress(tc.addr)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %q allow=%v: %v", tc.addr, tc.webConfig, tc.allow, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %q allow=%v: %v, want %q", tc.addr, tc.webConfig, tc.allow, err, tc.want)
		}
	}
	// Listen refuses before binding.
	a, _ := New(Options{Logger: quiet})
	var re *RemoteError
	if ln, err := a.Listen("0.0.0.0:0"); !errors.As(err, &re) {
		if ln != nil {
			ln.Close()
		}
		t.Errorf("Listen 0.0.0.0:0: %v, want a RemoteError", err)
	}
}

func TestBadWebConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ path, want string }{
		{write("unknown.yml", "basic_auth_user:\n  admin: x\n"), "field basic_auth_user not found"},
		{write("plain.yml", "basic_auth_users:\n  admin: hunter2\n"), "hashedSecret too short"},
		{write("nocert.yml", "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing-key.pem\n"), "missing.pem"},
		{filepath.Join(dir, "absent.yml"), "absent.yml"},
	} {
		_, err := New(Options{WebConfigFile: tc.path, Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), "--web.config.file "+tc.path+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want --web.config.file, the path and %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}

// The toolkit re-reads the web config per request; the user name is passed
// on only while the file lists users (the toolkit checked the password).
func TestUserFollowsConfigChanges(t *testing.T) {
	wc := accesstest.Write(t, accesstest.Spec{BasicAuth: true})
	_, addr := start(t, wc.Path)
	c := &http.Client{}
	if code, body, err := get(t, c, "http://"+addr+"/", accesstest.User, accesstest.Password); err != nil || body != "user=admin" {
		t.Fatalf("%d %q %v", code, body, err)
	}
	if err := os.WriteFile(wc.Path, []byte("# no users any more\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(wc.Path, later, later); err != nil {
		t.Fatal(err)
	}
	if code, body, err := get(t, c, "http://"+addr+"/", "mallory", "anything"); err != nil || code != 200 || body != "user=" {
		t.Errorf("after removing the users: %d %q %v, want 200 and no user", code, body, err)
	}
}
