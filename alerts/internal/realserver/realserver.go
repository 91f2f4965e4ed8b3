// Package realserver builds, caches and starts the real servers that
// integration and conformance tests talk to (VictoriaMetrics, vmalert-tool,
// later Loki and Mailpit). Binaries are built from the pinned tools module in
// .ci/tools once per machine and kept in a cache folder; each test starts its
// own server on 127.0.0.1 with a temporary data folder.
//
// Heavy tiers are skipped under `go test -short`; they run otherwise, and
// a build failure fails the test rather than skipping it.
package realserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tool is a binary built from the tools module.
type Tool struct {
	Name    string // cached file name prefix
	Package string // import path in the tools module
	Version string // the pinned version, part of the cache key
	Module  string // sub-folder of .ci/tools holding its module; "" for .ci/tools itself
}

// The pinned tools. Keep the versions in step with .ci/tools/go.mod.
func VictoriaMetricsTool() Tool {
	return Tool{"victoria-metrics", "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics", "v1.150.0", ""}
}

// VMAlertToolTool is vmalert-tool, used to compare test verdicts.
func VMAlertToolTool() Tool {
	return Tool{"vmalert-tool", "github.com/VictoriaMetrics/VictoriaMetrics/app/vmalert-tool", "v1.150.0", ""}
}

// LokiTool is Grafana Loki, built from its own tools module (.ci/tools/loki:
// Loki's replace directives clash with VictoriaMetrics' dependencies).
func LokiTool() Tool {
	return Tool{"loki", "github.com/grafana/loki/v3/cmd/loki", "v3.7.8", "loki"}
}

// MailpitTool is Mailpit, an SMTP server with a REST API to read the
// mail it received, built from its own tools module (.ci/tools/mailpit).
func MailpitTool() Tool {
	return Tool{"mailpit", "github.com/axllent/mailpit", "v1.31.2", "mailpit"}
}

// PromtoolTool is Prometheus' promtool (Prometheus v3.16), used to compare
// verdicts on promtool rule test files, built from its own tools module
// (.ci/tools/prometheus: Prometheus' dependencies clash with
// VictoriaMetrics'). A cold build compiles 1,364 packages: 12 min user +
// 3 min system CPU (64 min wall on a shared 2-core machine at load 25).
func PromtoolTool() Tool {
	return Tool{"promtool", "github.com/prometheus/prometheus/cmd/promtool", "v0.316.0", "prometheus"}
}

// CacheDir is where built binaries are kept: $HLALERT_TOOLS_CACHE, or the
// user cache folder.
func CacheDir() (string, error) {
	if d := os.Getenv("HLALERT_TOOLS_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache folder (set HLALERT_TOOLS_CACHE): %w", err)
	}
	return filepath.Join(d, "hlalert-tools"), nil
}

// ToolsModule finds .ci/tools by walking up from the working directory.
func ToolsModule() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ".ci", "tools")
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no .ci/tools/go.mod above the working directory")
		}
		dir = parent
	}
}

// Build returns the path of the tool's binary, building it first when the
// cache does not have it. Concurrent callers (parallel test packages) wait on
// a file lock instead of building twice.
func Build(ctx context.Context, tool Tool) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, tool.Name+"-"+tool.Version)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("create tools cache: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("open tools cache lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock tools cache: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // another process built it while we waited
	}
	mod, err := ToolsModule()
	if err != nil {
		return "", err
	}
	mod = filepath.Join(mod, tool.Module)
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, tool.Package)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s %s in %s: %w\n%s", tool.Package, tool.Version, mod, err, out.String())
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("install %s: %w", bin, err)
	}
	return bin, nil
}

// BuildT is Build for tests: it skips under -short and fails the test when
// the build fails.
func BuildT(t testing.TB, tool Tool) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: skipping the tier that needs a real %s", tool.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin, err := Build(ctx, tool)
	if err != nil {
		t.Fatalf("real %s: %v", tool.Name, err)
	}
	return bin
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a running real server.
type Server struct {
	URL      string // http://127.0.0.1:PORT
	Addr     string // 127.0.0.1:PORT
	SMTPAddr string // Mailpit only: 127.0.0.1:PORT of its SMTP listener
	Dir      string // its data folder
	cmd      *exec.Cmd
	log      *bytes.Buffer
	bin      string
	args     []string
}

// Log returns what the server printed so far, for failure messages.
func (s *Server) Log() string { return s.log.String() }

// Stop kills the server (SIGKILL) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again with the same data folder and address.
func (s *Server) Restart(t testing.TB, ready string) {
	t.Helper()
	s.Stop()
	s.start(t, ready)
}

func (s *Server) start(t testing.TB, ready string) {
	t.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Dir = s.Dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.bin, err)
	}
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	t.Fatalf("%s did not become ready at %s%s within 120s:\n%s", s.bin, s.URL, ready, s.Log())
}

// StartVictoriaMetrics builds (if needed) and starts a single-node
// VictoriaMetrics v1.150.0 on a free loopback port with a temp data folder.
// Extra flags are appended to the defaults. It is stopped when the test ends.
func StartVictoriaMetrics(t testing.TB, extraFlags ...string) *Server {
	t.Helper()
	bin := BuildT(t, VictoriaMetricsTool())
	port := FreePort(t)
	s := &Server{
		Addr: "127.0.0.1:" + strconv.Itoa(port),
		Dir:  t.TempDir(),
		log:  &bytes.Buffer{},
		bin:  bin,
	}
	s.URL = "http://" + s.Addr
	s.args = append([]string{
		"-httpListenAddr=" + s.Addr,
		"-storageDataPath=" + s.Dir,
		"-retentionPeriod=100y",
		"-loggerLevel=ERROR",
		"-search.disableCache",
		"-search.latencyOffset=0s",
	}, extraFlags...)
	s.start(t, "/health")
	t.Cleanup(s.Stop)
	return s
}

// StartLoki builds (if needed) and starts a single-binary Loki v3.7.8 on free
// loopback ports, with filesystem storage in a temp folder and no auth. It
// is stopped when the test ends.
func StartLoki(t testing.TB) *Server {
	t.Helper()
	return StartLokiWith(t, LokiOptions{})
}

// LokiOptions adds settings to the configuration StartLokiWith writes.
type LokiOptions struct {
	// Limits are extra keys under limits_config, one "key: value" each.
	Limits []string
	// QueryRange are keys under query_range, one "key: value" each.
	QueryRange []string
	// Querier are keys under querier, one "key: value" each.
	Querier []string
}

func indentYAML(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// StartLokiWith is StartLoki with extra configuration.
func StartLokiWith(t testing.TB, opts LokiOptions) *Server {
	t.Helper()
	bin := BuildT(t, LokiTool())
	port, grpc := FreePort(t), FreePort(t)
	s := &Server{
		Addr: "127.0.0.1:" + strconv.Itoa(port),
		Dir:  t.TempDir(),
		log:  &bytes.Buffer{},
		bin:  bin,
	}
	s.URL = "http://" + s.Addr
	cfg := fmt.Sprintf(lokiConfig, port, grpc, s.Dir) + "limits_config:\n  reject_old_samples: false\n  allow_structured_metadata: true\n" +
		indentYAML(opts.Limits)
	if len(opts.QueryRange) > 0 {
		cfg += "query_range:\n" + indentYAML(opts.QueryRange)
	}
	if len(opts.Querier) > 0 {
		cfg += "querier:\n" + indentYAML(opts.Querier)
	}
	path := filepath.Join(s.Dir, "loki.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatalf("write loki config: %v", err)
	}
	s.args = []string{"-config.file=" + path, "-log.level=warn"}
	s.start(t, "/ready")
	t.Cleanup(s.Stop)
	return s
}

const lokiConfig = `auth_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: %d
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: %d
common:
  path_prefix: %[3]s
  replication_factor: 1
  instance_addr: 127.0.0.1
  ring:
    kvstore:
      store: inmemory
  storage:
    filesystem:
      chunks_directory: %[3]s/chunks
      rules_directory: %[3]s/rules
ingester:
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
schema_config:
  configs:
    - from: 2020-10-24
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
query_scheduler:
  max_outstanding_requests_per_tenant: 4096
frontend:
  max_outstanding_per_tenant: 4096
analytics:
  reporting_enabled: false
`

// StartMailpit builds (if needed) and starts Mailpit v1.31.2 with its SMTP
// listener on s.SMTPAddr and its HTTP API on s.URL (/api/v1/...), with
// its database in a temp folder (kept across Restart). Extra flags (e.g.
// --smtp-tls-cert, --smtp-tls-key, --smtp-require-tls) are appended. It
// is stopped when the test ends; Restart(t, "/readyz") starts it again.
func StartMailpit(t testing.TB, extraFlags ...string) *Server {
	t.Helper()
	bin := BuildT(t, MailpitTool())
	port, smtp := FreePort(t), FreePort(t)
	s := &Server{
		Addr:     "127.0.0.1:" + strconv.Itoa(port),
		SMTPAddr: "127.0.0.1:" + strconv.Itoa(smtp),
		Dir:      t.TempDir(),
		log:      &bytes.Buffer{},
		bin:      bin,
	}
	s.URL = "http://" + s.Addr
	s.args = append([]string{
		"--listen=" + s.Addr,
		"--smtp=" + s.SMTPAddr,
		"--database=" + filepath.Join(s.Dir, "mailpit.db"),
		"--disable-version-check",
		"--quiet",
	}, extraFlags...)
	s.start(t, "/readyz")
	t.Cleanup(s.Stop)
	return s
}
