package nvr

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/serve/servetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNow = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

// frigate replays fixtures: stats for /api/stats, recordings per camera.
// It insists on an explicit after=/before= window and on the auth header.
func frigate(t *testing.T, stats string, recordings map[string]string, wantAuth string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	var statsBody []byte
	if stats != "hang" {
		statsBody = publishedFixture(t, stats)
	}
	check := func(w http.ResponseWriter, r *http.Request) bool {
		if got := r.Header.Get("Authorization"); got != wantAuth {
			http.Error(w, `{"success":false,"message":"Unauthorized"}`, http.StatusUnauthorized)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, r *http.Request) {
		if !check(w, r) {
			return
		}
		if stats == "hang" {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(statsBody)
	})
	mux.HandleFunc("GET /api/{camera}/recordings", func(w http.ResponseWriter, r *http.Request) {
		if !check(w, r) {
			return
		}
		q := r.URL.Query()
		if q.Get("after") != "1795341600" || q.Get("before") != "1795345200" {
			t.Errorf("recordings query %q: want after=now-1h, before=now", r.URL.RawQuery)
		}
		f, ok := recordings[r.PathValue("camera")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join("testdata", f))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func secret(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name       string
		stats      string
		recordings map[string]string
		cfg        func(t *testing.T, c *Config)
		wantAuth   string
		wantErr    string
		wantHome   map[string]any
	}{
		{name: "composed-frigate-0.14", stats: "composed/stats-0.14.json",
			recordings: map[string]string{"driveway": "composed/recordings-recent.json", "garden": "composed/recordings-empty.json"},
			wantHome:   map[string]any{"cameras": 2, "cameras_streaming": 1, "cameras_recording": 1, "storage_used_percent": 9.2, "frigate_version": "0.14.1-f4f3cfa"}},
		{name: "composed-frigate-0.15-basic-auth", stats: "composed/stats-0.15.json",
			recordings: map[string]string{"doorbell": "composed/recordings-recent.json", "garage": "composed/recordings-stale.json"},
			cfg: func(t *testing.T, c *Config) {
				c.Username, c.PasswordFile = "viewer", secret(t, "s3cret\n")
			},
			wantAuth: "Basic dmlld2VyOnMzY3JldA==",
			wantHome: map[string]any{"cameras_recording": 2, "inference_ms": 14.27}},
		{name: "composed-frigate-0.16-bearer", stats: "composed/stats-0.16.json",
			recordings: map[string]string{"back_yard": "composed/recordings-recent.json", "front door": "composed/recordings-recent.json"},
			cfg:        func(t *testing.T, c *Config) { c.TokenFile = secret(t, "eyJhbGciOi.jwt\n") },
			wantAuth:   "Bearer eyJhbGciOi.jwt",
			wantHome:   map[string]any{"cameras_streaming": 2, "uptime_hours": 336.0, "detection_fps": 4.2}},
		{name: "composed-frigate-0.12-toplevel-cameras", stats: "composed/stats-0.12-toplevel.json",
			recordings: map[string]string{"3d_printer_camera": "composed/recordings-recent.json", "corner_yard_camera": "composed/recordings-empty.json"}},
		// Published /api/stats outputs (testdata/SOURCES.md); the
		// recordings they are paired with are composed.
		{name: "published-frigate-0.16.2-excerpt", stats: "published/stats-0.16.2-my-home-panel-excerpt.json",
			recordings: map[string]string{"cam-doorbell": "composed/recordings-recent.json"},
			wantHome:   map[string]any{"cameras": 1, "cameras_streaming": 1, "cameras_recording": 1, "storage_used_percent": 1.0, "frigate_version": "0.16.2-4d58206", "inference_ms": 6.25}},
		{name: "published-frigate-0.17.2-trimmed", stats: "published/stats-0.17.2-homesafe-trimmed.json",
			recordings: map[string]string{"hikvision_1": "composed/recordings-recent.json", "amcrest_1": "composed/recordings-stale.json"},
			wantHome:   map[string]any{"cameras": 2, "cameras_streaming": 2, "cameras_recording": 2, "storage_used_percent": 93.6, "storage_free_bytes": 5684.6 * (1 << 20), "frigate_version": "0.17.2-3d4dd3a"}},
		// Frigate 0.14.1 stats published only as a TypeScript literal type,
		// converted by the test (tsliteral_test.go, testdata/SOURCES.md).
		{name: "published-frigate-0.14.1-ts-literal", stats: "published/stats-0.14.1-statseventdto-ts-literal.ts.txt",
			recordings: map[string]string{"back": "composed/recordings-recent.json", "camera_area": "composed/recordings-empty.json"},
			wantHome: map[string]any{"cameras": 2, "cameras_streaming": 2, "cameras_recording": 1, "storage_used_percent": 32.9,
				"frigate_version": "0.14.1-f4f3cfa", "inference_ms": 351.51, "detection_fps": 2.8, "uptime_hours": 18.8}},
		{name: "recordings-garbage", stats: "composed/stats-0.14.json",
			recordings: map[string]string{"driveway": "garbage.html"},
			wantErr:    "camera driveway: recordings: decode JSON"},
		{name: "stats-garbage", stats: "garbage.html", wantErr: "stats: decode JSON"},
		{name: "unauthorized", stats: "composed/stats-0.14.json", wantAuth: "Bearer right",
			cfg:     func(t *testing.T, c *Config) { c.TokenFile = secret(t, "wrong") },
			wantErr: "GET /api/stats: HTTP 401 (check nvr credentials)"},
		{name: "timeout", stats: "hang",
			cfg:     func(t *testing.T, c *Config) { c.Timeout = 50 * time.Millisecond },
			wantErr: "GET /api/stats: timed out after 50ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := frigate(t, tc.stats, tc.recordings, tc.wantAuth)
			cfg := Config{URL: srv.URL + "/"}
			if tc.cfg != nil {
				tc.cfg(t, &cfg)
			}
			c, err := New(cfg, srv.Client(), func() time.Time { return testNow }, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Update(context.Background())
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Update: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Update error = %v, want %q", err, tc.wantErr)
			}
			servetest.GoldenMetrics(t, filepath.Join("testdata", "golden", tc.name+".prom"), c.Describe(), res.Metrics, *update)
			servetest.GoldenHomepage(t, filepath.Join("testdata", "golden", tc.name+".homepage.json"), c.Name(), c.Describe(), res, err, testNow, *update)
			for k, want := range tc.wantHome {
				if got := res.Homepage[k]; got != want {
					t.Errorf("homepage[%s] = %#v, want %#v", k, got, want)
				}
			}
			if _, ok := res.Homepage["error"]; ok {
				t.Error("homepage has an error key")
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := New(Config{URL: url}, nil, func() time.Time { return testNow }, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Update(context.Background())
	if err == nil || !strings.Contains(err.Error(), "GET /api/stats") || len(res.Metrics) != 0 {
		t.Fatalf("err = %v, metrics %d", err, len(res.Metrics))
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://frigate:5000"}, ""},
		{Config{}, "url: missing"},
		{Config{URL: "frigate:5000"}, `url: "frigate:5000" is not an http(s) URL`},
		{Config{URL: "http://admin:pw@frigate:5000"}, "url: credentials in the URL; use username and password_file"},
		{Config{URL: "http://frigate", Username: "a"}, "password_file: missing (username and password_file go together)"},
		{Config{URL: "http://frigate", PasswordFile: "/run/pw"}, "username: missing (username and password_file go together)"},
		{Config{URL: "http://frigate", Username: "a", PasswordFile: "/run/pw", TokenFile: "/run/tok"}, "token_file: use either token_file or username/password_file"},
		{Config{URL: "http://frigate", TokenFile: "tok"}, `token_file: "tok" is not an absolute path`},
		{Config{URL: "http://frigate", RecordingsLookback: time.Second}, "recordings_lookback: 1s must be at least 1m"},
		{Config{URL: "http://frigate", RecordingsStorage: "/mnt/nvr"}, ""},
		{Config{URL: "http://frigate", RecordingsStorage: "recordings"}, `recordings_storage: "recordings" is not one of Frigate's storage mount points (absolute, e.g. /media/frigate/recordings)`},
	}
	for _, tc := range cases {
		servetest.ValidateError(t, tc.cfg.Validate(), tc.want)
	}
}

func TestParseStatsErrors(t *testing.T) {
	cases := map[string]string{
		`{}`: "no service object",
		`{"cameras":{"a":{"detection_fps":1}},"service":{"version":"0.14.0"}}`:                        `camera "a": no camera_fps`,
		`{"cameras":{"a":{"camera_fps":1,"detection_enabled":"yes"}},"service":{"version":"0.14.0"}}`: `camera "a": detection_enabled: "yes" is neither`,
		`{"cameras":{},"service":{"version":"0.14.0","storage":{"/x":{"total":1}}}}`:                  `storage "/x": total, used and free must all be present`,
		`{"cameras":{},"service":{}}`: "service.version missing",
	}
	for in, want := range cases {
		if _, err := ParseStats([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStats(%s) = %v, want %q", in, err, want)
		}
	}
}

func FuzzParseStats(f *testing.F) {
	for _, b := range servetest.SeedFiles(f, "testdata/*/stats-*.json") {
		f.Add(b)
	}
	f.Add(publishedFixture(f, "published/stats-0.14.1-statseventdto-ts-literal.ts.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStats(b)
		if err != nil {
			return
		}
		if s.Version == "" {
			t.Fatal("accepted stats without a version")
		}
	})
}

func FuzzParseRecordings(f *testing.F) {
	for _, b := range servetest.SeedFiles(f, "testdata/*/recordings-*.json") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end, n, err := ParseRecordings(b)
		if err == nil && n == 0 && end != 0 {
			t.Fatal("end time without segments")
		}
	})
}
