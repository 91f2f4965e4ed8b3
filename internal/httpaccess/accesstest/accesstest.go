// Package accesstest writes real Prometheus web configuration files for
// tests: a CA made for the test, a server certificate for 127.0.0.1 and
// localhost, a client certificate (also as files), and a bcrypt-hashed
// password; and a test server that requires the client certificate.
package accesstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Spec says what the web configuration enables.
type Spec struct {
	TLS bool
	// ClientAuth is tls_server_config.client_auth_type (implies TLS);
	// with a value, the test CA is the client_ca_file.
	ClientAuth string
	// BasicAuth adds the user User with password Password.
	BasicAuth bool
}

// User and Password are the basic-auth credentials Write configures.
const (
	User     = "admin"
	Password = "correct horse battery staple"
)

// Config is a written web configuration and what a client needs.
type Config struct {
	Path   string         // the web config file
	CAs    *x509.CertPool // trusts the server certificate
	Client tls.Certificate
	// Files next to Path, for clients configured by file: the CA
	// (ca.pem), the client certificate and its key (client.pem,
	// client-key.pem), and with TLS the server's (server.pem,
	// server-key.pem).
	CAFile, ClientCertFile, ClientKeyFile, ServerCertFile, ServerKeyFile string
}

// Write writes the web configuration of s into a new temporary folder.
func Write(t testing.TB, s Spec) Config {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := newCA(t)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	var b strings.Builder
	c := Config{Path: filepath.Join(dir, "web.yml"), CAs: x509.NewCertPool(), CAFile: filepath.Join(dir, "ca.pem"),
		ClientCertFile: filepath.Join(dir, "client.pem"), ClientKeyFile: filepath.Join(dir, "client-key.pem"),
		ServerCertFile: filepath.Join(dir, "server.pem"), ServerKeyFile: filepath.Join(dir, "server-key.pem")}
	c.CAs.AddCert(ca)
	if s.TLS || s.ClientAuth != "" {
		der, key := leaf(t, ca, caKey, "hlalert test server", x509.ExtKeyUsageServerAuth)
		writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", der)
		writeKey(t, filepath.Join(dir, "server-key.pem"), key)
		// Relative paths: the toolkit resolves them against the file's folder.
		b.WriteString("tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n")
		if s.ClientAuth != "" {
			fmt.Fprintf(&b, "  client_auth_type: %s\n  client_ca_file: ca.pem\n", s.ClientAuth)
		}
	}
	der, key := leaf(t, ca, caKey, "hlalert test client", x509.ExtKeyUsageClientAuth)
	c.Client = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	writePEM(t, c.ClientCertFile, "CERTIFICATE", der)
	writeKey(t, c.ClientKeyFile, key)
	if s.BasicAuth {
		h, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "basic_auth_users:\n  %s: %s\n", User, h)
	}
	if err := os.WriteFile(c.Path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// HTTPClient trusts the test CA and, with withCert, presents the client
// certificate.
func (c Config) HTTPClient(withCert bool) *http.Client {
	tc := &tls.Config{RootCAs: c.CAs, MinVersion: tls.VersionTLS12}
	if withCert {
		tc.Certificates = []tls.Certificate{c.Client}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
}

func newCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hlalert test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func leaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeKey(t testing.TB, path string, key *ecdsa.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "EC PRIVATE KEY", der)
}

// MutualTLSServer starts h behind TLS with the server certificate of c
// (written with Spec.TLS), requiring a client certificate signed by the
// test CA; refused handshakes are not logged. It closes with the test.
func MutualTLSServer(t testing.TB, c Config, h http.Handler) *httptest.Server {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(c.ServerCertFile, c.ServerKeyFile)
	if err != nil {
		t.Fatalf("server certificate (write it with Spec.TLS): %v", err)
	}
	s := httptest.NewUnstartedServer(h)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: c.CAs, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}
