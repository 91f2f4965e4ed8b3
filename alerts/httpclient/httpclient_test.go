package httpclient_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hlalert/hlalert/alerts/lokiproto"

	"github.com/hlalert/hlalert/alerts/amhandoff"
	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/daemon"
	"github.com/hlalert/hlalert/alerts/datasource"
	"github.com/hlalert/hlalert/alerts/httpclient"
	"github.com/hlalert/hlalert/alerts/lokipush"
	"github.com/hlalert/hlalert/alerts/notify"
	"github.com/hlalert/hlalert/alerts/remotewrite"
	"github.com/hlalert/hlalert/alerts/scrape"
	"github.com/hlalert/hlalert/alerts/series"
	"github.com/hlalert/hlalert/alerts/watchdog"
	"github.com/hlalert/hlalert/internal/httpaccess/accesstest"
)

const token = "s3cret-token"

// server is a TLS server that requires a client certificate signed by the
// test CA and either basic auth (accesstest.User) or the bearer token.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int // path → authenticated requests
}

func newServer(t *testing.T, wc accesstest.Config) *server {
	t.Helper()
	s := &server{hits: map[string]int{}}
	s.Server = accesstest.MutualTLSServer(t, wc, http.HandlerFunc(s.serve))
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	u, p, basic := r.BasicAuth()
	if !(basic && u == accesstest.User && p == accesstest.Password) && r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	switch r.URL.Path {
	case "/api/v1/query", "/loki/api/v1/query":
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"x"},"value":[1700000000,"1"]}]}}`)
	case "/metrics":
		fmt.Fprint(w, "# TYPE probe gauge\nprobe 1\n")
	case "/api/v1/write", "/loki/api/v1/push":
		w.WriteHeader(http.StatusNoContent)
	default: // /ping, /api/v2/alerts
		fmt.Fprint(w, "ok")
	}
}

func (s *server) hit(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// errLog keeps the err attribute of logged records (remote write logs
// its failures and retries instead of returning them).
type errLog struct {
	mu   sync.Mutex
	errs []string
}

func (h *errLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *errLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *errLog) WithGroup(string) slog.Handler            { return h }
func (h *errLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			h.mu.Lock()
			h.errs = append(h.errs, a.Value.String())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *errLog) first() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", h.errs[0])
}

// A client is one outgoing connection of `hlalert run`: its config
// section (with the shared client keys substituted for %s), how to make
// one request with it, and the path the server sees.
type client struct {
	name, section, path string
	indent              int // of the section's keys
	request             func(ctx context.Context, cfg *config.Config) error
}

var clients = []client{
	{
		name: "datasource victoriametrics", indent: 4, path: "/api/v1/query",
		section: "datasource:\n  victoriametrics:\n    url: URL\n%s",
		request: func(ctx context.Context, cfg *config.Config) error {
			vm := cfg.Datasource.VictoriaMetrics
			c, err := httpclient.New("datasource.victoriametrics", vm.HTTP)
			if err != nil {
				return err
			}
			p, err := datasource.NewPrometheus(datasource.PrometheusOptions{URL: vm.URL, HTTP: datasource.HTTPOptions{Client: c}})
			if err != nil {
				return err
			}
			_, err = p.Query(ctx, "probe", time.Unix(1700000000, 0))
			return err
		},
	},
	{
		name: "datasource loki", indent: 4, path: "/loki/api/v1/query",
		section: "datasource:\n  loki:\n    url: URL\n%s",
		request: func(ctx context.Context, cfg *config.Config) error {
			l := cfg.Datasource.Loki
			c, err := httpclient.New("datasource.loki", l.HTTP)
			if err != nil {
				return err
			}
			q, err := datasource.NewLoki(datasource.LokiOptions{URL: l.URL, HTTP: datasource.HTTPOptions{Client: c}})
			if err != nil {
				return err
			}
			_, err = q.Query(ctx, `count_over_time({job="x"}[5m])`, time.Unix(1700000000, 0))
			return err
		},
	},
	{
		name: "remote write", indent: 2, path: "/api/v1/write",
		section: "datasource:\n  loki: {url: 'http://127.0.0.1:1'}\nremote_write:\n  url: URL/api/v1/write\n%s",
		request: func(ctx context.Context, cfg *config.Config) error {
			rw := cfg.RemoteWrite
			c, err := httpclient.New("remote_write", rw.HTTP)
			if err != nil {
				return err
			}
			log := &errLog{}
			w, err := remotewrite.New(remotewrite.Options{URL: rw.URL, HTTP: datasource.HTTPOptions{Client: c}, Logger: slog.New(log), MinBackoff: time.Hour, MaxBackoff: time.Hour})
			if err != nil {
				return err
			}
			if err := w.Write(ctx, []series.Point{{Labels: series.FromStrings("__name__", "probe"), T: 1700000000000, V: 1}}); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if err := w.Close(ctx); err != nil && log.first() == nil {
				return err
			}
			return log.first()
		},
	},
	{
		name: "history", indent: 2, path: "/loki/api/v1/push",
		section: "datasource:\n  loki: {url: 'http://127.0.0.1:1'}\nhistory:\n  url: URL\n%s",
		request: func(ctx context.Context, cfg *config.Config) error {
			h := cfg.History
			c, err := httpclient.New("history", h.HTTP)
			if err != nil {
				return err
			}
			p, err := lokipush.New(lokipush.Options{URL: h.URL, Client: c})
			if err != nil {
				return err
			}
			return p.Push(ctx, []lokiproto.Stream{{Labels: `{job="hlalert"}`, Entries: []lokiproto.Entry{{Timestamp: time.Unix(1700000000, 0), Line: "probe"}}}})
		},
	},
	{
		name: "watchdog", indent: 4, path: "/ping",
		section: "datasource:\n  loki: {url: 'http://127.0.0.1:1'}\nnotify:\n  watchdog:\n    url: URL/ping\n%s",
		request: func(ctx context.Context, cfg *config.Config) error {
			plan, err := daemon.PlanNotify(cfg)
			if err != nil {
				return err
			}
			o := *plan.Watchdog
			o.Logger = slog.New(slog.DiscardHandler)
			w, err := watchdog.New(o)
			if err != nil {
				return err
			}
			return w.Beat(ctx)
		},
	},
	{
		name: "alertmanager hand-off", indent: 4, path: "/api/v2/alerts",
		section: "datasource:\n  loki: {url: 'http://127.0.0.1:1'}\nnotify:\n  alertmanager_handoff:\n    urls: [URL]\n%s",
		request: func(ctx context.Context, cfg *config.Config) error {
			plan, err := daemon.PlanNotify(cfg)
			if err != nil {
				return err
			}
			o := *plan.Handoff
			o.Attempts, o.Logger = 1, slog.New(slog.DiscardHandler)
			s, err := amhandoff.New(o)
			if err != nil {
				return err
			}
			_, err = s.Notify(ctx, notify.Batch{Receiver: "outbox", Alerts: []notify.Alert{{Labels: map[string]string{"alertname": "Probe"}, StartsAt: time.Unix(1700000000, 0), Status: "firing"}}})
			return err
		},
	},
	{
		name: "scrape target", indent: 8, path: "/metrics",
		section: "datasource:\n  embedded:\n    targets:\n      - job: probe\n        url: URL/metrics\n%s",
		request: func(ctx context.Context, cfg *config.Config) error {
			t := cfg.Datasource.Embedded.Targets[0]
			c, err := httpclient.New("scrape", t.HTTP)
			if err != nil {
				return err
			}
			st := scrape.Target{Job: t.Job, URL: t.URL, Interval: t.Interval, Timeout: t.Timeout, Client: c}
			return scrape.New(series.NewStore(), nil, slog.New(slog.DiscardHandler)).ScrapeOnce(ctx, st, time.Now())
		},
	},
}

// TestClients connects every client to a server requiring a client
// certificate and authentication, with the same keys in each section: with
// the CA, client certificate and basic auth or bearer token it gets
// through; without any one of them it fails, saying why.
func TestClients(t *testing.T) {
	wc := accesstest.Write(t, accesstest.Spec{TLS: true})
	srv := newServer(t, wc)
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	password, tokenFile := write("password", accesstest.Password+"\n"), write("token", token+"\n")
	clientSecret, wrongSecret := write("client-secret", "client s3cret\n"), write("wrong-secret", "guess\n")
	// The OAuth2 token endpoint hands out the bearer token the server wants
	// for the client credentials hlalert/"client s3cret".
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// RFC 6749 2.3.1: the credentials are form-encoded inside basic
		// auth, or sent as form parameters.
		id, secret, ok := r.BasicAuth()
		if ok {
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
		} else {
			id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		if r.URL.Path != "/token" || id != "hlalert" || secret != "client s3cret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, token)
	}))
	t.Cleanup(idp.Close)
	oauth2 := func(secretFile string) string {
		return fmt.Sprintf("oauth2:\n  client_id: hlalert\n  client_secret_file: %s\n  token_url: %s/token\n", secretFile, idp.URL)
	}
	caKeys := fmt.Sprintf("tls:\n  ca_file: %s\n", wc.CAFile)
	certKeys := fmt.Sprintf("  cert_file: %s\n  key_file: %s\n", wc.ClientCertFile, wc.ClientKeyFile)
	basic := fmt.Sprintf("basic_auth:\n  username: %s\n  password_file: %s\n", accesstest.User, password)
	bearer := fmt.Sprintf("bearer_token_file: %s\n", tokenFile)
	cases := []struct {
		name, keys string
		wantErr    string // "": connects
	}{
		{"ca, client cert, basic auth", caKeys + certKeys + basic, ""},
		{"ca, client cert, bearer", caKeys + certKeys + bearer, ""},
		{"ca, client cert, oauth2", caKeys + certKeys + oauth2(clientSecret), ""},
		{"oauth2 with a wrong client secret", caKeys + certKeys + oauth2(wrongSecret), "invalid_client"},
		{"no ca_file", "tls:\n" + certKeys + basic, "certificate signed by unknown authority"},
		{"no ca_file, insecure_skip_verify", "tls:\n" + certKeys + "  insecure_skip_verify: true\n" + basic, ""},
		{"no client cert", caKeys + basic, "certificate required"},
		{"no auth", caKeys + certKeys, "401"},
		{"wrong server_name", caKeys + certKeys + "  server_name: other.example\n" + bearer, "not other.example"},
	}
	for _, cl := range clients {
		for _, tc := range cases {
			t.Run(cl.name+"/"+tc.name, func(t *testing.T) {
				indent := strings.Repeat(" ", cl.indent)
				keys := indent + strings.ReplaceAll(strings.TrimSuffix(tc.keys, "\n"), "\n", "\n"+indent) + "\n"
				body := strings.ReplaceAll(fmt.Sprintf(cl.section, keys), "URL", srv.URL) + "rule_files: [r.yaml]\n"
				path := filepath.Join(t.TempDir(), "hlalert.yaml")
				if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				cfg, err := config.LoadFile(path)
				if err != nil {
					t.Fatalf("load:\n%s\n%v", body, err)
				}
				before := srv.hit(cl.path)
				err = cl.request(t.Context(), cfg)
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("request failed: %v\nconfig:\n%s", err, body)
				case tc.wantErr == "" && srv.hit(cl.path) != before+1:
					t.Fatalf("server saw %d authenticated requests on %s, want 1", srv.hit(cl.path)-before, cl.path)
				case tc.wantErr != "" && err == nil:
					t.Fatalf("connected; want an error containing %q\nconfig:\n%s", tc.wantErr, body)
				case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
					t.Fatalf("error %q lacks %q", err, tc.wantErr)
				case tc.wantErr != "" && srv.hit(cl.path) != before:
					t.Fatalf("the server counted an authenticated request")
				}
			})
		}
	}
}

// TestProxy sends a section's requests through its proxy_url.
func TestProxy(t *testing.T) {
	var mu sync.Mutex
	var got []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.String())
		mu.Unlock()
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(proxy.Close)
	path := filepath.Join(t.TempDir(), "hlalert.yaml")
	body := "datasource:\n  loki: {url: 'http://127.0.0.1:1'}\nrule_files: [r.yaml]\nnotify:\n  watchdog:\n    url: http://hc.example.invalid/ping\n    proxy_url: " + proxy.URL + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := httpclient.New("watchdog", cfg.Notify.Watchdog.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	w, err := watchdog.New(watchdog.Options{URL: cfg.Notify.Watchdog.URL, Client: c, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Beat(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "GET http://hc.example.invalid/ping" {
		t.Fatalf("the proxy saw %q, want the watchdog's GET", got)
	}
}
