// Package nix holds hlalert's Nix flake, packages and NixOS modules. Its Go
// tests are the evaluation tier that CI runs without nixpkgs or KVM:
// nix-instantiate evaluates the modules with lib.evalModules (harness.nix
// declares the upstream options, pkgs.nix stands in for packages) over the
// example machines in eval/machines, and the tests check the result and run
// the project's own `hlalert check --config` and `hlexporter check` on the
// rendered configs.
package nix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// env is what every evaluation needs: the pinned nixpkgs lib and a package
// folder with the binaries built from this checkout.
type env struct {
	root   string // repository root
	lib    string // nixpkgs lib/ folder
	pkg    string // stand-in package: bin/hlalert, bin/hlexporter, share/hlalert/rules
	binDir string
	store  string // a private Nix store (NIX_STORE_DIR): no root, no daemon, nothing left behind
}

// nixInstantiate runs nix-instantiate on the private store.
func (e *env) nixInstantiate(args ...string) *exec.Cmd {
	cmd := exec.Command("nix-instantiate", args...)
	state := filepath.Dir(e.store)
	cmd.Env = append(os.Environ(),
		"NIX_STORE_DIR="+e.store,
		"NIX_STATE_DIR="+filepath.Join(state, "var"),
		"NIX_LOG_DIR="+filepath.Join(state, "log"),
		"NIX_CONF_DIR="+filepath.Join(state, "etc"),
	)
	return cmd
}

var (
	envOnce sync.Once
	envVal  *env
	envErr  error
	envSkip string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if envVal != nil {
		os.RemoveAll(envVal.pkg)
	}
	os.Exit(code)
}

// setup finds nix-instantiate and the nixpkgs lib, and builds the binaries
// once. Without them it skips, except in CI (CI=true), where it fails.
func setup(t *testing.T) *env {
	t.Helper()
	envOnce.Do(func() { envVal, envSkip, envErr = newEnv() })
	if envErr != nil {
		t.Fatal(envErr)
	}
	if envSkip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s", envSkip)
		}
		t.Skip(envSkip)
	}
	return envVal
}

func newEnv() (*env, string, error) {
	if _, err := exec.LookPath("nix-instantiate"); err != nil {
		return nil, "nix-instantiate is not installed (apt-get install nix-bin); skipping the Nix evaluation tier", nil
	}
	root, err := gitOut(".", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, "", err
	}
	lib, err := findNixpkgsLib(root)
	if err != nil {
		return nil, "", err
	}
	if lib == "" {
		return nil, fmt.Sprintf("no pinned nixpkgs lib at %s/../shared/nixpkgs-lib/lib (nor HLALERT_NIXPKGS_LIB); skipping the Nix evaluation tier", root), nil
	}
	pkg, err := os.MkdirTemp("", "hlalert-nix-pkg-")
	if err != nil {
		return nil, "", err
	}
	e := &env{root: root, lib: lib, pkg: pkg, binDir: filepath.Join(pkg, "bin"), store: filepath.Join(pkg, "nix", "store")}
	if err := os.MkdirAll(filepath.Join(pkg, "share", "hlalert"), 0o755); err != nil {
		return nil, "", err
	}
	if err := os.Symlink(filepath.Join(root, "rules"), filepath.Join(pkg, "share", "hlalert", "rules")); err != nil {
		return nil, "", err
	}
	cmd := exec.Command("go", "build", "-o", e.binDir+"/", "./cmd/hlalert", "./cmd/hlexporter")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return e, "", nil
}

// findNixpkgsLib locates shared/nixpkgs-lib beside the checkout (or beside
// the main checkout when this is a git worktree); "" when absent.
func findNixpkgsLib(root string) (string, error) {
	if p := os.Getenv("HLALERT_NIXPKGS_LIB"); p != "" {
		if _, err := os.Stat(filepath.Join(p, "default.nix")); err != nil {
			return "", fmt.Errorf("HLALERT_NIXPKGS_LIB: %w", err)
		}
		return p, nil
	}
	cands := []string{filepath.Join(root, "..", "shared", "nixpkgs-lib", "lib")}
	if common, err := gitOut(root, "rev-parse", "--path-format=absolute", "--git-common-dir"); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(common), "..", "shared", "nixpkgs-lib", "lib"))
	}
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, "default.nix")); err == nil {
			return filepath.Clean(c), nil
		}
	}
	return "", nil
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// eval evaluates the modules over the given machine modules (paths) and
// returns the JSON of eval/eval.nix, or nix-instantiate's error output.
func (e *env) eval(modules ...string) (map[string]any, error) {
	var list []string
	for _, m := range modules {
		abs, err := filepath.Abs(m)
		if err != nil {
			return nil, err
		}
		list = append(list, abs)
	}
	cmd := e.nixInstantiate("--eval", "--strict", "--json", "--read-write-mode",
		filepath.Join(e.root, "nix", "eval", "eval.nix"),
		"--arg", "lib", "import "+e.lib,
		"--argstr", "pkgRoot", e.pkg,
		"--arg", "modules", "[ "+strings.Join(list, " ")+" ]")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("nix-instantiate: %v\n%s", err, stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("decode evaluation: %w", err)
	}
	return res, nil
}

func (e *env) mustEval(t *testing.T, modules ...string) map[string]any {
	t.Helper()
	res, err := e.eval(modules...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// get walks a decoded JSON value along a dotted path of keys.
func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// etc is the environment.etc entry of that name (whose name has dots).
func etc(res map[string]any, name string) any {
	m, _ := get(res, "etc").(map[string]any)
	return m[name]
}

func str(v any, path string) string { s, _ := get(v, path).(string); return s }

func strs(v any, path string) []string {
	var out []string
	switch x := get(v, path).(type) {
	case []any:
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
	case nil:
	default:
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func readJSON(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// units returns the names of hlalert's own units in res.
func units(res map[string]any) []string {
	var out []string
	for name := range get(res, "systemd").(map[string]any) {
		if name == "hlalert" || strings.HasPrefix(name, "hlexporter-") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// hardening is what every hlalert/hlexporter unit must set. ProtectHome may
// be "read-only" (backup reads repositories under /home).
var hardening = map[string]any{
	"NoNewPrivileges":         true,
	"ProtectSystem":           "strict",
	"PrivateTmp":              true,
	"LockPersonality":         true,
	"MemoryDenyWriteExecute":  true,
	"ProtectClock":            true,
	"ProtectControlGroups":    true,
	"ProtectHostname":         true,
	"ProtectKernelLogs":       true,
	"ProtectKernelModules":    true,
	"ProtectKernelTunables":   true,
	"RestrictNamespaces":      true,
	"RestrictRealtime":        true,
	"RestrictSUIDSGID":        true,
	"SystemCallArchitectures": "native",
	"DevicePolicy":            "closed",
	"UMask":                   "0077",
}

// privileges says, per unit, what it may hold beyond the common sandbox:
// capabilities, supplementary groups, devices, and whether it runs as a
// DynamicUser with /dev hidden.
type privileges struct {
	caps           []string // allowed ambient capabilities ("" none)
	groups         []string
	devices        *regexp.Regexp // every DeviceAllow entry must match; nil: none allowed
	dynamicUser    bool
	privateDevices bool
}

var unitPrivileges = map[string]privileges{
	"hlalert":           {dynamicUser: true, privateDevices: true},
	"hlexporter-zfs":    {dynamicUser: true, devices: regexp.MustCompile(`^/dev/zfs rw$`)},
	"hlexporter-smart":  {dynamicUser: true, caps: []string{"CAP_SYS_RAWIO", "CAP_SYS_ADMIN"}, groups: []string{"disk"}, devices: regexp.MustCompile(`^(/dev/\S+|block-sd|block-blkext|char-nvme) r$`)},
	"hlexporter-backup": {},
	"hlexporter-deploy": {dynamicUser: true, privateDevices: true},
	"hlexporter-nvr":    {dynamicUser: true, privateDevices: true},
}

// checkUnits reports every unit whose hardening or privileges differ from
// what it should have.
func checkUnits(res map[string]any) []string {
	var bad []string
	for _, u := range units(res) {
		sc := get(res, "systemd."+u+".serviceConfig")
		for k, want := range hardening {
			if got := get(sc, k); got != want {
				bad = append(bad, fmt.Sprintf("%s: %s = %v, want %v", u, k, got, want))
			}
		}
		if ph := get(sc, "ProtectHome"); ph != true && ph != "read-only" {
			bad = append(bad, fmt.Sprintf("%s: ProtectHome = %v", u, ph))
		}
		if got := strs(sc, "RestrictAddressFamilies"); !slices.Equal(got, []string{"AF_INET", "AF_INET6", "AF_UNIX"}) {
			bad = append(bad, fmt.Sprintf("%s: RestrictAddressFamilies = %v", u, got))
		}
		if !slices.Contains(strs(sc, "SystemCallFilter"), "@system-service") {
			bad = append(bad, fmt.Sprintf("%s: SystemCallFilter lacks @system-service", u))
		}
		p, ok := unitPrivileges[u]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: unknown unit", u))
			continue
		}
		caps := strs(sc, "AmbientCapabilities")
		for _, c := range caps {
			if c != "" && !slices.Contains(p.caps, c) {
				bad = append(bad, fmt.Sprintf("%s: capability %s is more than it needs", u, c))
			}
		}
		if !slices.Equal(caps, strs(sc, "CapabilityBoundingSet")) {
			bad = append(bad, fmt.Sprintf("%s: CapabilityBoundingSet %v differs from AmbientCapabilities %v", u, strs(sc, "CapabilityBoundingSet"), caps))
		}
		if len(p.caps) > 0 && !slices.Contains(caps, p.caps[0]) {
			bad = append(bad, fmt.Sprintf("%s: lacks %s", u, p.caps[0]))
		}
		if g := strs(sc, "SupplementaryGroups"); !slices.Equal(g, p.groups) {
			bad = append(bad, fmt.Sprintf("%s: SupplementaryGroups = %v, want %v", u, g, p.groups))
		}
		for _, d := range strs(sc, "DeviceAllow") {
			if p.devices == nil || !p.devices.MatchString(d) {
				bad = append(bad, fmt.Sprintf("%s: DeviceAllow %q is more than it needs", u, d))
			}
		}
		if got := get(sc, "DynamicUser") == true; got != p.dynamicUser {
			bad = append(bad, fmt.Sprintf("%s: DynamicUser = %v, want %v", u, got, p.dynamicUser))
		}
		if p.privateDevices && get(sc, "PrivateDevices") != true {
			bad = append(bad, fmt.Sprintf("%s: PrivateDevices is not set", u))
		}
		if !p.dynamicUser && str(sc, "User") == "" {
			bad = append(bad, fmt.Sprintf("%s: runs as root (no User, no DynamicUser)", u))
		}
		if c, ok := strings.CutPrefix(u, "hlexporter-"); ok && !strings.Contains(str(sc, "ExecStart")+" ", "--collectors "+c+" ") {
			bad = append(bad, fmt.Sprintf("%s: ExecStart %q does not run only its collector", u, str(sc, "ExecStart")))
		}
	}
	if _, ok := get(res, "systemd.hlalert").(map[string]any); ok {
		if !strings.Contains(str(res, "systemd.hlalert.serviceConfig.ExecReload"), "kill -HUP $MAINPID") {
			bad = append(bad, "hlalert: ExecReload does not send SIGHUP")
		}
		// hlalert rejects a reload that changes these; the unit must restart.
		rt := strings.Join(strs(res, "systemd.hlalert.restartTriggers"), " ")
		for _, k := range []string{`"listen"`, `"state_dir"`, `"outbox_dir"`, `"remote_write"`, `"history"`, `"embedded"`} {
			if !strings.Contains(rt, k) {
				bad = append(bad, fmt.Sprintf("hlalert: restartTriggers %q do not cover %s", rt, k))
			}
		}
	}
	return bad
}

// checkScrape reports exporter units the main server's VictoriaMetrics does
// not scrape on their port.
func checkScrape(res map[string]any) []string {
	var bad []string
	jobs := map[string][]string{}
	scs, _ := get(res, "victoriametrics.prometheusConfig.scrape_configs").([]any)
	for _, sc := range scs {
		if _, dup := jobs[str(sc, "job_name")]; dup {
			bad = append(bad, fmt.Sprintf("scrape config: job %s twice (VictoriaMetrics refuses that)", str(sc, "job_name")))
		}
		jobs[str(sc, "job_name")] = nil
		for _, st := range get(sc, "static_configs").([]any) {
			jobs[str(sc, "job_name")] = append(jobs[str(sc, "job_name")], strs(st, "targets")...)
		}
	}
	targets, _ := get(res, "hlexporter.scrapeTargets").([]any)
	listed := map[string]bool{}
	for _, t := range targets {
		listed[str(t, "unit")] = true
		if !slices.Contains(jobs[str(t, "unit")], str(t, "address")) {
			bad = append(bad, fmt.Sprintf("scrape config: no job %s with target %s (jobs: %v)", str(t, "unit"), str(t, "address"), jobs))
		}
	}
	for _, u := range units(res) {
		if strings.HasPrefix(u, "hlexporter-") && !listed[u] {
			bad = append(bad, fmt.Sprintf("unit %s is not among the scrape targets", u))
		}
	}
	for _, j := range []string{"node", "hlalert", "victoriametrics", "loki", "alloy", "grafana"} {
		if len(jobs[j]) == 0 {
			bad = append(bad, fmt.Sprintf("scrape config: no job %s", j))
		}
	}
	return bad
}

// dashboardFiles lists dashboards/*.json of the checkout.
func dashboardFiles(root string) []string {
	m, _ := filepath.Glob(filepath.Join(root, "dashboards", "*.json"))
	out := []string{}
	for _, p := range m {
		out = append(out, filepath.Base(p))
	}
	sort.Strings(out)
	return out
}

// checkGrafana reports missing datasources and dashboards.
func checkGrafana(res map[string]any, root string) []string {
	var bad []string
	want := map[string]string{"victoriametrics": "prometheus", "loki": "loki"}
	dss, _ := get(res, "grafana.provision.datasources.settings.datasources").([]any)
	for _, ds := range dss {
		if typ, ok := want[str(ds, "uid")]; ok && typ == str(ds, "type") {
			delete(want, str(ds, "uid"))
		}
	}
	for uid, typ := range want {
		bad = append(bad, fmt.Sprintf("grafana: no datasource uid %q of type %s", uid, typ))
	}
	provs, _ := get(res, "grafana.provision.dashboards.settings.providers").([]any)
	var provisioned []string
	for _, p := range provs {
		var entries []struct{ Name, Path string }
		b, err := os.ReadFile(str(p, "options.path"))
		if err != nil {
			bad = append(bad, fmt.Sprintf("grafana: provider %s: %v", str(p, "name"), err))
			continue
		}
		if err := json.Unmarshal(b, &entries); err != nil {
			bad = append(bad, fmt.Sprintf("grafana: provider %s: %v", str(p, "name"), err))
			continue
		}
		for _, e := range entries {
			provisioned = append(provisioned, e.Name)
			if _, err := os.Stat(e.Path); err != nil {
				bad = append(bad, fmt.Sprintf("grafana: dashboard %s: %v", e.Name, err))
			}
		}
	}
	sort.Strings(provisioned)
	if files := dashboardFiles(root); !slices.Equal(provisioned, files) && !(len(files) == 0 && len(provisioned) == 0) {
		bad = append(bad, fmt.Sprintf("grafana: provisions %v, dashboards/ holds %v", provisioned, files))
	}
	return bad
}

// checkHomepage reports local hlexporter units without a Homepage widget.
func checkHomepage(res map[string]any) []string {
	var bad []string
	urls := map[string]bool{}
	groups, _ := get(res, "homepage.services").([]any)
	for _, g := range groups {
		for _, entries := range g.(map[string]any) {
			for _, entry := range entries.([]any) {
				for _, svc := range entry.(map[string]any) {
					urls[str(svc, "widget.url")] = str(svc, "widget.type") == "customapi"
				}
			}
		}
	}
	targets, _ := get(res, "hlexporter.scrapeTargets").([]any)
	for _, t := range targets {
		u := "http://" + str(t, "address") + "/api/homepage/" + str(t, "collector")
		if !urls[u] {
			bad = append(bad, fmt.Sprintf("homepage: no customapi widget for %s (%s)", str(t, "unit"), u))
		}
	}
	return bad
}

// checkAlloy reports a journal pipeline without the agreed labels.
func checkAlloy(res map[string]any, host, lokiURL string) []string {
	text := str(etc(res, "alloy/hlalert-journal.alloy"), "text")
	var bad []string
	for _, want := range []string{
		`labels        = {job = "systemd-journal", host = "` + host + `"}`,
		"source_labels = [\"__journal__systemd_unit\"]\n    target_label  = \"unit\"",
		"source_labels = [\"__journal_priority_keyword\"]\n    target_label  = \"level\"",
		`url = "` + lokiURL + `/loki/api/v1/push"`,
		"relabel_rules = loki.relabel.hlalert_journal.rules",
	} {
		if !strings.Contains(text, want) {
			bad = append(bad, fmt.Sprintf("alloy: config lacks %q", want))
		}
	}
	if get(res, "alloy.enable") != true {
		bad = append(bad, "alloy: not enabled")
	}
	return bad
}

var loopback = regexp.MustCompile(`^(127\.[0-9.]+|localhost|\[::1\]|::1)(:[0-9]+)?$`)

// checkLoopback reports every listener of the appliance beyond loopback
// and every opened firewall port.
func checkLoopback(res map[string]any, rendered map[string]map[string]any) []string {
	var bad []string
	addr := func(what, a string) {
		if !loopback.MatchString(a) {
			bad = append(bad, fmt.Sprintf("%s listens on %q", what, a))
		}
	}
	for name, cfg := range rendered {
		if name == "hlalert" {
			addr("hlalert", str(cfg, "listen"))
		} else {
			addr(name, str(cfg, "listen_address"))
		}
	}
	if get(res, "node.enable") == true {
		addr("node_exporter", str(res, "node.listenAddress"))
	}
	if get(res, "victoriametrics.enable") == true {
		addr("victoriametrics", str(res, "victoriametrics.listenAddress"))
	}
	if get(res, "grafana.enable") == true {
		addr("grafana", str(res, "grafana.settings.server.http_addr"))
	}
	if get(res, "loki.enable") == true {
		addr("loki http", str(res, "loki.configuration.server.http_listen_address"))
		addr("loki grpc", str(res, "loki.configuration.server.grpc_listen_address"))
	}
	for _, f := range strs(res, "alloy.extraFlags") {
		if a, ok := strings.CutPrefix(f, "--server.http.listen-addr="); ok {
			addr("alloy", a)
		}
	}
	if get(res, "caddy.enable") == true {
		bad = append(bad, "caddy is enabled")
	}
	if p := strs(res, "firewall.allowedTCPPorts"); len(p) > 0 {
		bad = append(bad, fmt.Sprintf("firewall opens %v", p))
	}
	return bad
}

// buildScript is a runCommand stand-in's file: the build script.
var (
	checkLine = regexp.MustCompile(`(?m)^(hlalert|hlexporter) check --config (\S+)`)
	linkLine  = regexp.MustCompile(`(?m)^ln -s (\S+) \$out$`)
)

// runChecks runs every unit's build-time check script as the derivation
// would (the package's bin/ on PATH) and returns the rendered configs by
// unit.
func runChecks(t *testing.T, e *env, res map[string]any) map[string]map[string]any {
	t.Helper()
	scripts := map[string]string{}
	if get(res, "hlalert.enable") == true {
		scripts["hlalert"] = str(res, "hlalert.configFile")
	}
	if files, ok := get(res, "hlexporter.configFiles").(map[string]any); ok {
		for k, v := range files {
			scripts["hlexporter-"+k] = v.(string)
		}
	}
	rendered := map[string]map[string]any{}
	for unit, path := range scripts {
		script, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !checkLine.Match(script) {
			t.Errorf("%s: the config derivation does not run check:\n%s", unit, script)
		}
		out := filepath.Join(t.TempDir(), "out")
		cmd := exec.Command("bash", "-euc", string(script))
		cmd.Env = append(os.Environ(), "PATH="+e.binDir+":"+os.Getenv("PATH"), "out="+out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: build-time check fails: %v\n%s\nscript:\n%s", unit, err, b, script)
			continue
		} else {
			t.Logf("%s: %s", unit, strings.TrimSpace(string(b)))
		}
		m := linkLine.FindSubmatch(script)
		if m == nil {
			t.Errorf("%s: the config derivation does not link the config", unit)
			continue
		}
		cfg, err := readJSON(string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		rendered[unit] = cfg
		// The unit runs the checked config.
		want := path
		if unit == "hlalert" {
			want = "/etc/hlalert/hlalert.yaml"
			if src := str(etc(res, "hlalert/hlalert.yaml"), "source"); src != path {
				t.Errorf("hlalert: /etc/hlalert/hlalert.yaml is %q, want the checked config %q", src, path)
			}
		}
		if ex := str(res, "systemd."+unit+".serviceConfig.ExecStart"); !strings.Contains(ex, "--config "+want) {
			t.Errorf("%s: ExecStart %q does not use %s", unit, ex, want)
		}
	}
	return rendered
}

// checkCredentials reports secrets that reach a DynamicUser unit other
// than as a systemd credential.
func checkCredentials(res map[string]any, rendered map[string]map[string]any, secrets map[string][]string) []string {
	var bad []string
	for unit, keys := range secrets {
		bad = append(bad, checkCredential(res, rendered, unit, keys)...)
	}
	return bad
}

// checkCredential checks one unit's secrets (by the key path's end).
func checkCredential(res map[string]any, rendered map[string]map[string]any, unit string, keys []string) []string {
	var bad []string
	for _, key := range keys {
		b, _ := json.Marshal(rendered[unit])
		if rf := str(rendered[unit], "notify.routing_file"); rf != "" {
			routing, err := os.ReadFile(rf)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s: %v", unit, err))
			}
			b = append(b, routing...)
		}
		creds := strs(res, "systemd."+unit+".serviceConfig.LoadCredential")
		found := false
		for _, c := range creds {
			name, src, _ := strings.Cut(c, ":")
			if strings.HasSuffix(name, key) && strings.HasPrefix(src, "/run/agenix/") &&
				bytes.Contains(b, []byte(`"/run/credentials/`+unit+`.service/`+name+`"`)) {
				found = true
			}
		}
		if !found {
			bad = append(bad, fmt.Sprintf("%s: secret %s is not a credential (LoadCredential %v)", unit, key, creds))
		}
		if bytes.Contains(b, []byte("/run/agenix/")) {
			bad = append(bad, fmt.Sprintf("%s: the rendered config names an agenix path itself: %s", unit, b))
		}
	}
	return bad
}

// verifyUnits writes each of hlalert's units as a unit file (rendered the
// way NixOS does: booleans as true/false, lists as repeated lines) and has
// systemd's own parser check it: unknown keys and bad values are reported.
// The commands become /bin/true, the store paths of this evaluation do not
// exist on the host. Skipped (logged) where systemd-analyze is missing.
func verifyUnits(t *testing.T, res map[string]any) []string {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: unit files not verified")
		return nil
	}
	dir := t.TempDir()
	var files []string
	for _, u := range units(res) {
		var b strings.Builder
		fmt.Fprintf(&b, "[Unit]\nDescription=%s\n[Service]\n", str(res, "systemd."+u+".description"))
		sc := get(res, "systemd."+u+".serviceConfig").(map[string]any)
		keys := make([]string, 0, len(sc))
		for k := range sc {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vals, ok := sc[k].([]any)
			if !ok {
				vals = []any{sc[k]}
			}
			for _, v := range vals {
				if strings.HasPrefix(k, "Exec") {
					v = "/bin/true"
				}
				fmt.Fprintf(&b, "%s=%v\n", k, v)
			}
		}
		p := filepath.Join(dir, u+".service")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, files...)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		return []string{fmt.Sprintf("systemd-analyze verify: %v\n%s", err, out)}
	}
	return nil
}

func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

func TestParseEveryNixFile(t *testing.T) {
	e := setup(t)
	var files []string
	err := filepath.WalkDir(e.root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".nix") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d .nix files: %v", len(files), files)
	}
	// One process for all (each start costs ~0.4 s); its error names the
	// file and line.
	cmd := e.nixInstantiate(append([]string{"--parse"}, files...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("nix-instantiate --parse: %v\n%s", err, stderr.String())
	}
}

// TestParseReportsSyntaxErrors: the parse step fails, naming the file and
// position, on a broken file.
func TestParseReportsSyntaxErrors(t *testing.T) {
	e := setup(t)
	bad := writeModule(t, "{ services.hlalert.enable = ; }")
	out, err := e.nixInstantiate("--parse", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), bad+":1:29") {
		t.Errorf("nix-instantiate --parse of a broken file: err %v, output:\n%s", err, out)
	}
}

// machine is one example machine and what it must have.
type machine struct {
	name    string
	units   []string
	lokiURL string
	secrets map[string][]string // unit → ends of the key paths of secrets that must be credentials
}

var machines = []machine{
	{name: "main", lokiURL: "http://127.0.0.1:3100",
		units:   []string{"hlalert", "hlexporter-deploy", "hlexporter-nvr"},
		secrets: map[string][]string{"hlalert": {"email_configs-0-auth_password_file", "victoriametrics-bearer_token_file"}, "hlexporter-nvr": {"nvr-password_file"}}},
	{name: "nas", lokiURL: "http://main.home.arpa:3100",
		units: []string{"hlexporter-backup", "hlexporter-deploy", "hlexporter-smart", "hlexporter-zfs"}},
	{name: "ha", lokiURL: "http://main.home.arpa:3100",
		units:   []string{"hlalert", "hlexporter-deploy"},
		secrets: map[string][]string{"hlalert": {"email_configs-0-auth_password_file"}}},
}

func TestMachines(t *testing.T) {
	e := setup(t)
	for _, m := range machines {
		t.Run(m.name, func(t *testing.T) {
			res := e.mustEval(t, filepath.Join(e.root, "nix", "eval", "machines", m.name+".nix"))
			if got := units(res); !slices.Equal(got, m.units) {
				t.Errorf("units = %v, want %v", got, m.units)
			}
			if w := strs(res, "warnings"); len(w) > 0 {
				t.Errorf("warnings: %q", w)
			}
			rendered := runChecks(t, e, res)
			report(t, checkUnits(res))
			report(t, verifyUnits(t, res))
			report(t, checkAlloy(res, m.name, m.lokiURL))
			report(t, checkLoopback(res, rendered))
			report(t, checkCredentials(res, rendered, m.secrets))
			if m.name == "main" {
				report(t, checkScrape(res))
				report(t, checkGrafana(res, e.root))
				report(t, checkHomepage(res))
				if p := str(res, "grafana.settings.security.admin_password"); p != "$__file{/run/agenix/grafana-admin}" {
					t.Errorf("grafana admin_password = %q, want it read from the agenix file", p)
				}
			}
			if r := strs(res, "systemd.alloy.reloadTriggers"); !slices.Contains(r, str(etc(res, "alloy/hlalert-journal.alloy"), "source")) {
				t.Errorf("alloy is not reloaded when its journal file changes: reloadTriggers %v", r)
			}
			if m.name == "nas" {
				sc := get(res, "systemd.hlexporter-backup.serviceConfig")
				if str(sc, "User") != "restic" {
					t.Errorf("backup unit runs as %q, want restic (the owner of the password files)", str(sc, "User"))
				}
				if d := strs(res, "systemd.hlexporter-smart.serviceConfig.DeviceAllow"); !slices.Equal(d, []string{"/dev/sda r", "/dev/nvme0 r"}) {
					t.Errorf("smart DeviceAllow = %v, want the configured disks", d)
				}
				// Tools come from the host's packages, not from PATH.
				for path, want := range map[string]string{
					"hlexporter-zfs:collectors.zfs.zpool_command":               "-zfs/bin/zpool",
					"hlexporter-zfs:collectors.zfs.zfs_command":                 "-zfs/bin/zfs",
					"hlexporter-smart:collectors.smart.smartctl_command":        "-smartmontools/bin/smartctl",
					"hlexporter-deploy:collectors.deploy.systemctl":             "-systemd/bin/systemctl",
					"hlexporter-backup:collectors.backup.repositories.0.binary": "-restic/bin/restic",
				} {
					unit, key, _ := strings.Cut(path, ":")
					var got any = rendered[unit]
					for _, k := range strings.Split(key, ".") {
						if l, ok := got.([]any); ok && k == "0" {
							got = l[0]
							continue
						}
						got = get(got, k)
					}
					if g, _ := got.(string); !strings.HasPrefix(g, e.store+"/") || !strings.HasSuffix(g, want) {
						t.Errorf("%s = %v, want the store path ending in %s", path, got, want)
					}
				}
			}
			if m.name == "ha" {
				targets, _ := get(rendered["hlalert"], "datasource.embedded.targets").([]any)
				if len(targets) != 2 || get(rendered["hlalert"], "datasource.victoriametrics") != nil {
					t.Errorf("ha: hlalert is not standalone over the watched targets: %v", get(rendered["hlalert"], "datasource"))
				}
			}
		})
	}
}

// TestChecksCatchBrokenModules evaluates a machine whose modules are
// deliberately broken (what a bad edit of a module would do) and shows
// that the checks above report it.
func TestChecksCatchBrokenModules(t *testing.T) {
	e := setup(t)
	broken := writeModule(t, `{ lib, ... }: {
  services.grafana.settings.server.http_addr = "0.0.0.0";
  systemd.services.hlexporter-nvr.serviceConfig = {
    NoNewPrivileges = lib.mkForce false;
    AmbientCapabilities = lib.mkForce [ "CAP_NET_ADMIN" ];
    CapabilityBoundingSet = lib.mkForce [ "CAP_NET_ADMIN" ];
    ProtectSystm = "strict";
    RestrictRealtime = lib.mkForce "sometimes";
  };
  services.victoriametrics.prometheusConfig.scrape_configs = lib.mkForce [ ];
  environment.etc."alloy/hlalert-journal.alloy".text = lib.mkForce "loki.source.journal \"x\" {}";
}`)
	res := e.mustEval(t, filepath.Join(e.root, "nix", "eval", "machines", "main.nix"), broken)
	got := strings.Join(slices.Concat(checkUnits(res), checkScrape(res), checkAlloy(res, "main", "http://127.0.0.1:3100"), checkLoopback(res, nil), verifyUnits(t, res)), "\n")
	want := []string{
		"hlexporter-nvr: NoNewPrivileges = false, want true",
		"hlexporter-nvr: capability CAP_NET_ADMIN is more than it needs",
		"scrape config: no job hlexporter-deploy with target 127.0.0.1:9811",
		"scrape config: no job node",
		`alloy: config lacks "labels        = {job = \"systemd-journal\", host = \"main\"}"`,
		`grafana listens on "0.0.0.0"`,
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		want = append(want,
			"Unknown key 'ProtectSystm' in section [Service]",
			"Failed to parse boolean value, ignoring: sometimes")
	}
	for _, want := range want {
		if !strings.Contains(got, want) {
			t.Errorf("the checks do not report %q; they report:\n%s", want, got)
		}
	}
}

func writeModule(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "module.nix")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUserSettingsWin: the appliance sets its values with mkDefault and
// merges lists, so a homelab's own settings win and its own scrape jobs and
// datasources are kept beside the appliance's.
func TestUserSettingsWin(t *testing.T) {
	e := setup(t)
	own := writeModule(t, `{
  services.grafana.settings.server.http_port = 3300;
  services.grafana.provision.datasources.settings.datasources = [ { name = "Own"; type = "postgres"; uid = "own"; } ];
  services.loki.configFile = "/etc/loki/own.yaml";
  services.victoriametrics.retentionPeriod = "2y";
  services.victoriametrics.prometheusConfig.scrape_configs = [ { job_name = "own"; static_configs = [ { targets = [ "127.0.0.1:9999" ]; } ]; } ];
  services.hlalert.settings.datasource.victoriametrics.url = "http://vm.home.arpa:8428";
  services.prometheus.exporters.node.port = 9200;
}`)
	res := e.mustEval(t, filepath.Join(e.root, "nix", "eval", "machines", "main.nix"), own)
	if p := get(res, "grafana.settings.server.http_port"); p != 3300.0 {
		t.Errorf("grafana http_port = %v, want the user's 3300", p)
	}
	if c := get(res, "loki.configuration").(map[string]any); len(c) != 0 {
		t.Errorf("the appliance writes services.loki.configuration beside the user's configFile: %v", c)
	}
	if r := str(res, "victoriametrics.retentionPeriod"); r != "2y" {
		t.Errorf("retentionPeriod = %q, want the user's 2y", r)
	}
	var jobs []string
	for _, sc := range get(res, "victoriametrics.prometheusConfig.scrape_configs").([]any) {
		jobs = append(jobs, str(sc, "job_name"))
	}
	if !slices.Contains(jobs, "own") || !slices.Contains(jobs, "hlexporter-deploy") {
		t.Errorf("scrape jobs = %v, want the user's and the appliance's", jobs)
	}
	var uids []string
	for _, ds := range get(res, "grafana.provision.datasources.settings.datasources").([]any) {
		uids = append(uids, str(ds, "uid"))
	}
	sort.Strings(uids)
	if !slices.Equal(uids, []string{"loki", "own", "victoriametrics"}) {
		t.Errorf("datasource uids = %v, want the user's and the appliance's", uids)
	}
	rendered := runChecks(t, e, res)
	if u := str(rendered["hlalert"], "datasource.victoriametrics.url"); u != "http://vm.home.arpa:8428" {
		t.Errorf("hlalert VictoriaMetrics URL = %q, want the user's", u)
	}
	if p := get(res, "node.port"); p != 9200.0 {
		t.Errorf("node_exporter port = %v, want the user's 9200", p)
	}
}

// TestCaddyStaysPrivate: the optional virtual hosts answer private
// addresses only, and proxy to the loopback listeners.
func TestCaddyStaysPrivate(t *testing.T) {
	e := setup(t)
	res := e.mustEval(t, filepath.Join(e.root, "nix", "eval", "machines", "main.nix"),
		writeModule(t, `{ homelab.services.monitoring.caddy = { enable = true; domain = "lan"; }; }`))
	for host, port := range map[string]string{"grafana.lan": "3000", "hlalert.lan": "8880"} {
		vh := get(res, "caddy.virtualHosts").(map[string]any)[host]
		cfg := str(vh, "extraConfig")
		if !strings.Contains(cfg, "@outside not remote_ip private_ranges\nroute {\n  abort @outside\n  reverse_proxy 127.0.0.1:"+port+"\n}") {
			t.Errorf("caddy %s:\n%s", host, cfg)
		}
	}
	if !slices.Contains(checkLoopback(res, nil), "caddy is enabled") {
		t.Error("checkLoopback does not report Caddy")
	}
}

// TestOpeningIsExplicit: the NAS's exporters leave loopback and the
// firewall opens their ports only when the options say so.
func TestOpeningIsExplicit(t *testing.T) {
	e := setup(t)
	res := e.mustEval(t, filepath.Join(e.root, "nix", "eval", "machines", "nas.nix"),
		writeModule(t, `{ services.hlexporter = { listenAddress = "192.168.1.10"; openFirewall = true; webConfigFile = "/run/agenix/hlexporter-web"; }; }`))
	if got := slices.Sorted(slices.Values(strs(res, "firewall.allowedTCPPorts"))); !slices.Equal(got, []string{"9808", "9809", "9810", "9811"}) {
		t.Errorf("firewall opens %v, want the four collectors' ports", got)
	}
	rendered := runChecks(t, e, res)
	if got := checkLoopback(res, rendered); len(got) != 5 { // four listeners and the firewall
		t.Errorf("checkLoopback reports %q, want the four units and the firewall", got)
	}
	for _, tgt := range get(res, "hlexporter.scrapeTargets").([]any) {
		if !strings.HasPrefix(str(tgt, "address"), "192.168.1.10:") {
			t.Errorf("scrape target %v does not use the listen address", tgt)
		}
		unit := str(tgt, "unit")
		sc := get(res, "systemd."+unit+".serviceConfig")
		if !strings.Contains(str(sc, "ExecStart"), "--web.config.file /run/credentials/"+unit+".service/web-config") ||
			!slices.Contains(strs(sc, "LoadCredential"), "web-config:/run/agenix/hlexporter-web") {
			t.Errorf("%s does not serve with the web config: %v", unit, sc)
		}
	}
}

// TestWarnsWithoutSMTP: without an SMTP server the appliance says that
// mails stay in the outbox.
func TestWarnsWithoutSMTP(t *testing.T) {
	e := setup(t)
	res := e.mustEval(t, writeModule(t, `{ homelab.services.monitoring = { enable = true; role = "main"; email = "me@example.org"; grafana.secretKeyFile = "/run/agenix/k"; }; }`))
	if w := strs(res, "warnings"); len(w) != 1 || !strings.Contains(w[0], "sends none") {
		t.Errorf("warnings = %q", w)
	}
}

// TestBadValuesFailEvaluation: a bad option value stops the evaluation
// (nixos-rebuild) with a message naming the option.
func TestBadValuesFailEvaluation(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name, module string
		want         []string
	}{
		{"role", `{ homelab.services.monitoring = { enable = true; role = "nsa"; }; }`,
			[]string{"homelab.services.monitoring.role", `"main", "nas", "ha"`}},
		{"listen", `{ services.hlalert = { enable = true; settings.listen = "8880"; }; }`,
			[]string{"services.hlalert.settings.listen", "listen address host:port"}},
		{"backup without user", `{ services.hlexporter = { enable = true; collectors.backup.enable = true; }; }`,
			[]string{"Failed assertions", "services.hlexporter.collectors.backup.user must name the user"}},
		{"ha without watch", `{ homelab.services.monitoring = { enable = true; role = "ha"; lokiUrl = "http://main:3100"; }; }`,
			[]string{"Failed assertions", "homelab.services.monitoring.watch must list"}},
		{"grafana without secret key", `{ homelab.services.monitoring = { enable = true; role = "main"; }; }`,
			[]string{"services.grafana.settings.security.secret_key", "no value defined"}},
		{"remote without authentication", `{ services.hlexporter = { enable = true; listenAddress = "0.0.0.0"; collectors.zfs.enable = true; }; }`,
			[]string{"Failed assertions", "services.hlexporter.listenAddress = \"0.0.0.0\" is beyond loopback", "webConfigFile"}},
		{"port", `{ services.hlexporter.collectors.zfs.port = 99999; }`,
			[]string{"services.hlexporter.collectors.zfs.port", "16 bit unsigned integer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The port is only forced when the unit exists.
			mods := []string{writeModule(t, tc.module)}
			if tc.name == "port" {
				mods = append(mods, writeModule(t, `{ services.hlexporter = { enable = true; collectors.zfs.enable = true; }; }`))
			}
			_, err := e.eval(mods...)
			if err == nil {
				t.Fatal("evaluation succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestREADMEExample evaluates the machine module of README's NixOS section,
// so the documented option names stay the real ones.
func TestREADMEExample(t *testing.T) {
	e := setup(t)
	b, err := os.ReadFile(filepath.Join(e.root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```nix\n(# [^\n]*evaluated by nix/eval_test.go[^\n]*\n.*?)```").FindAllSubmatch(b, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```nix block marked \"evaluated by nix/eval_test.go\"")
	}
	for i, blk := range blocks {
		res := e.mustEval(t, writeModule(t, string(blk[1])))
		if w := strs(res, "warnings"); len(w) > 0 {
			t.Errorf("README example %d: warnings: %q", i, w)
		}
		if get(res, "monitoring.role") == nil {
			t.Errorf("README example %d: no homelab.services.monitoring role", i)
		}
		rendered := runChecks(t, e, res)
		report(t, checkUnits(res))
		report(t, verifyUnits(t, res))
		report(t, checkLoopback(res, rendered))
	}
}

// TestFlakeOutputs evaluates flake.nix's outputs (with stand-in packages):
// packages, modules, checks and a dev shell for both systems, only nixpkgs
// as input, and ldflags that really stamp the binaries' version.
func TestFlakeOutputs(t *testing.T) {
	e := setup(t)
	out, err := e.nixInstantiate("--eval", "--strict", "--json", "--read-write-mode",
		filepath.Join(e.root, "nix", "eval", "flake-summary.nix"),
		"--arg", "lib", "import "+e.lib, "--argstr", "pkgRoot", e.pkg).Output()
	if err != nil {
		t.Fatalf("evaluate flake outputs: %v\n%s", err, stderrOf(err))
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	for _, sys := range []string{"x86_64-linux", "aarch64-linux"} {
		for path, want := range map[string][]string{
			"packages":  {"default", "hlalert", "hlexporter"},
			"checks":    {"hlalert", "hlexporter", "vm-main"},
			"devShells": {"default"},
		} {
			if got := strs(get(res, path), sys); !slices.Equal(got, want) {
				t.Errorf("%s.%s = %v, want %v", path, sys, got, want)
			}
		}
	}
	for path, want := range map[string][]string{
		"nixosModules":    {"appliance", "default", "hlalert", "hlexporter"},
		"overlays":        {"default"},
		"overlayPackages": {"hlalert", "hlexporter"},
		"vmTest.nodes":    {"main"},
	} {
		if got := strs(res, path); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if in := get(res, "inputs").(map[string]any); len(in) != 1 || str(in, "nixpkgs.url") == "" {
		t.Errorf("inputs = %v, want nixpkgs only", in)
	}
	for _, bin := range []string{"hlalert", "hlexporter"} {
		if got := strs(res, bin+".subPackages"); !slices.Equal(got, []string{"cmd/" + bin}) {
			t.Errorf("%s subPackages = %v", bin, got)
		}
		if pi := str(res, bin+".postInstall"); !strings.Contains(pi, "$out/share/hlalert/rules") || !strings.Contains(pi, "$out/share/hlalert/dashboards") {
			t.Errorf("%s postInstall does not install rules and dashboards:\n%s", bin, pi)
		}
		// Build with the flake's ldflags and ask the binary.
		exe := filepath.Join(t.TempDir(), bin)
		cmd := exec.Command("go", "build", "-ldflags", strings.Join(strs(res, bin+".ldflags"), " "), "-o", exe, "./cmd/"+bin)
		cmd.Dir = e.root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", bin, err, b)
		}
		got, err := exec.Command(exe, "version").Output()
		if want := bin + " 0.1.0-0123456 (commit 0123456789abcdef0123456789abcdef01234567)\n"; err != nil || string(got) != want {
			t.Errorf("%s version = %q (%v), want %q", bin, got, err, want)
		}
	}
	if !strings.Contains(str(res, "vmTest.testScript"), "VMTestAlwaysFiring") {
		t.Error("the VM test does not wait for its alert's mail")
	}

	// flake.lock: nixpkgs only, locked to a revision with its NAR hash.
	lock, err := readJSON(filepath.Join(e.root, "flake.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(str(lock, "nodes.nixpkgs.locked.rev")) ||
		!strings.HasPrefix(str(lock, "nodes.nixpkgs.locked.narHash"), "sha256-") ||
		str(lock, "nodes.nixpkgs.original.ref") != "nixos-unstable" ||
		str(lock, "nodes.root.inputs.nixpkgs") != "nixpkgs" || get(lock, "version") != 7.0 {
		t.Errorf("flake.lock does not pin nixpkgs: %v", lock)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestVMTestNode evaluates the VM test's main node (which imports the
// flake's nixosModules.default) like the example machines, so the test
// that needs KVM at least has a configuration that evaluates and passes
// the checks here.
func TestVMTestNode(t *testing.T) {
	e := setup(t)
	res := e.mustEval(t, filepath.Join(e.root, "nix", "eval", "vm-node.nix"))
	rendered := runChecks(t, e, res)
	report(t, checkUnits(res))
	report(t, verifyUnits(t, res))
	report(t, checkLoopback(res, rendered))
	report(t, checkScrape(res))
	if _, ok := get(res, "systemd.mailpit").(map[string]any); !ok {
		t.Error("the VM node has no mailpit unit")
	}
	routing, err := readJSON(str(rendered["hlalert"], "notify.routing_file"))
	if err != nil {
		t.Fatal(err)
	}
	ec := get(get(routing, "receivers").([]any)[0], "email_configs").([]any)[0]
	if str(ec, "smarthost") != "127.0.0.1:1025" || get(ec, "require_tls") != false {
		t.Errorf("the VM node's e-mail config does not reach the local SMTP sink: %v", ec)
	}
}

// journalLevels are the values of the `level` label Alloy sets: the journal
// priority keywords of loki.source.journal (Promtail's makeJournalPriority,
// which Alloy shares): 3 is "error", not syslog's "err".
var journalLevels = []string{"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"}

// levelMatcher finds `level` label matchers in LogQL, also inside JSON
// strings (escaped quotes).
var levelMatcher = regexp.MustCompile(`\blevel\s*(=~|!~|!=|=)\s*\\?"([^"\\]*)\\?"`)

// badLevels returns the level values in text that Alloy never sets.
func badLevels(text string) []string {
	var bad []string
	for _, m := range levelMatcher.FindAllStringSubmatch(text, -1) {
		alts := []string{m[2]}
		if m[1] == "=~" || m[1] == "!~" {
			alts = strings.Split(strings.Trim(m[2], "()^$"), "|")
		}
		for _, a := range alts {
			if !slices.Contains(journalLevels, a) {
				bad = append(bad, fmt.Sprintf("%s (in %s)", a, m[0]))
			}
		}
	}
	return bad
}

// TestJournalLevelsInQueries: the shipped rules and dashboards select only
// level values that the appliance's Alloy pipeline produces.
func TestJournalLevelsInQueries(t *testing.T) {
	if got := badLevels(`{job="systemd-journal", level=~"err|crit"} and {level="warn"}`); !slices.Equal(got, []string{
		`err (in level=~"err|crit")`, `warn (in level="warn")`,
	}) {
		t.Fatalf("badLevels = %q", got)
	}
	root, err := gitOut(".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "rules", "*.yml"))
	dash, _ := filepath.Glob(filepath.Join(root, "dashboards", "*.json"))
	for _, f := range append(files, dash...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder // without YAML comment lines
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "#") {
				text.WriteString(line + "\n")
			}
		}
		for _, l := range badLevels(text.String()) {
			t.Errorf("%s: level %s is not a journal priority keyword (%s)", f, l, strings.Join(journalLevels, ", "))
		}
	}
}

// realTool is a binary that alerts/internal/realserver built into the
// tools cache (.ci/run builds them before the tests; Go's internal rule
// keeps that package out of reach here, so this only looks it up):
// $HLALERT_TOOLS_CACHE or the user cache folder's hlalert-tools, name-version.
// Without it the test skips, or fails in CI.
func realTool(t *testing.T, nameVersion string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the tier that runs real servers' config checks")
	}
	dir := os.Getenv("HLALERT_TOOLS_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(c, "hlalert-tools")
	}
	bin := filepath.Join(dir, nameVersion)
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not built: %v", bin, err)
		}
		t.Skipf("%s is not built (go test -run TestBuildTools ./alerts/internal/realserver builds it)", bin)
	}
	return bin
}

// writeJSON writes v as a JSON (and so YAML) file.
func writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVictoriaMetricsAcceptsScrapeConfig runs the check nixpkgs' module
// runs at build time (victoria-metrics -dryRun) on the main server's scrape
// config, with the real VictoriaMetrics v1.150.0.
func TestVictoriaMetricsAcceptsScrapeConfig(t *testing.T) {
	e := setup(t)
	vm := realTool(t, "victoria-metrics-v1.150.0")
	res := e.mustEval(t, filepath.Join(e.root, "nix", "eval", "machines", "main.nix"))
	cfg := writeJSON(t, "prometheus.yaml", get(res, "victoriametrics.prometheusConfig"))
	out, err := exec.Command(vm, "-dryRun", "-promscrape.config="+cfg,
		"-storageDataPath="+t.TempDir(), "-httpListenAddr="+str(res, "victoriametrics.listenAddress"),
		"-retentionPeriod="+str(res, "victoriametrics.retentionPeriod")).CombinedOutput()
	if err != nil {
		t.Fatalf("victoria-metrics -dryRun: %v\n%s", err, out)
	}
	// And it fails on a broken one, so the check is real.
	bad := writeJSON(t, "bad.yaml", map[string]any{"scrape_configs": []any{map[string]any{"job_name": "x", "static_configs": "nope"}}})
	if out, err := exec.Command(vm, "-dryRun", "-promscrape.config="+bad, "-storageDataPath="+t.TempDir()).CombinedOutput(); err == nil {
		t.Errorf("victoria-metrics -dryRun accepts a broken scrape config:\n%s", out)
	}
}

// TestLokiAcceptsConfiguration runs the check nixpkgs' module runs at build
// time (loki -verify-config) on the appliance's Loki configuration, with the
// real Loki v3.7.8.
func TestLokiAcceptsConfiguration(t *testing.T) {
	e := setup(t)
	loki := realTool(t, "loki-v3.7.8")
	res := e.mustEval(t, filepath.Join(e.root, "nix", "eval", "machines", "main.nix"))
	cfg := writeJSON(t, "loki.json", get(res, "loki.configuration"))
	out, err := exec.Command(loki, "-verify-config", "-config.file="+cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("loki -verify-config: %v\n%s", err, out)
	}
	bad := writeJSON(t, "bad.json", map[string]any{"auth_enabled": false, "schema_config": "nope"})
	if out, err := exec.Command(loki, "-verify-config", "-config.file="+bad).CombinedOutput(); err == nil {
		t.Errorf("loki -verify-config accepts a broken config:\n%s", out)
	}
}
