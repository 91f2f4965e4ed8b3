package deploy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
	"github.com/hlalert/hlalert/exporters/systemd"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNow = time.Date(2025, 11, 22, 12, 0, 0, 0, time.UTC)

// system describes one system closure in the fake store.
type system struct {
	name                    string
	kernel, initrd, modules string // store paths, "" = absent
	generation              int
	linkTime                time.Time
}

// tree builds a fake NixOS layout under dir with real symlinks:
// store/<sys>/{kernel,initrd,kernel-modules} -> store/<component>,
// profiles/system-N-link -> store/<sys>, profiles/system -> system-N-link,
// run/current-system and run/booted-system -> store/<sys>.
func tree(t *testing.T, systems []system, profile, current, booted string) Config {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	profiles := filepath.Join(dir, "profiles")
	run := filepath.Join(dir, "run")
	for _, d := range []string{store, profiles, run} {
		must(t, os.MkdirAll(d, 0o755))
	}
	gen := map[string]int{}
	for _, s := range systems {
		sys := filepath.Join(store, s.name)
		must(t, os.MkdirAll(sys, 0o755))
		for comp, target := range map[string]string{"kernel": s.kernel, "initrd": s.initrd, "kernel-modules": s.modules} {
			if target == "" {
				continue
			}
			p := filepath.Join(store, target)
			if _, err := os.Stat(p); err != nil {
				must(t, os.WriteFile(p, []byte(target), 0o644))
			}
			must(t, os.Symlink(p, filepath.Join(sys, comp)))
		}
		link := filepath.Join(profiles, "system-"+strconv.Itoa(s.generation)+"-link")
		must(t, os.Symlink(sys, link))
		tv := unix.NsecToTimeval(s.linkTime.UnixNano())
		must(t, unix.Lutimes(link, []unix.Timeval{tv, tv}))
		gen[s.name] = s.generation
	}
	// An unrelated profile must not be counted.
	must(t, os.Symlink(store, filepath.Join(profiles, "per-user")))
	must(t, os.Symlink("system-"+strconv.Itoa(gen[profile])+"-link", filepath.Join(profiles, "system")))
	must(t, os.Symlink(filepath.Join(store, current), filepath.Join(run, "current-system")))
	if booted != "" {
		must(t, os.Symlink(filepath.Join(store, booted), filepath.Join(run, "booted-system")))
	}
	return Config{
		ProfilesDir:   profiles,
		CurrentSystem: filepath.Join(run, "current-system"),
		BootedSystem:  filepath.Join(run, "booted-system"),
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	t1 = time.Date(2025, 11, 1, 3, 4, 5, 0, time.UTC)
	t2 = time.Date(2025, 11, 20, 3, 5, 12, 0, time.UTC)
	t3 = time.Date(2025, 11, 21, 22, 0, 0, 0, time.UTC)
)

var (
	sysOld       = system{name: "aaa-nixos-system-25.05.1", kernel: "k-6.6.50", initrd: "i-1", modules: "m-6.6.50", generation: 41, linkTime: t1}
	sysNewUser   = system{name: "bbb-nixos-system-25.05.2", kernel: "k-6.6.50", initrd: "i-1", modules: "m-6.6.50", generation: 42, linkTime: t2}
	sysNewKern   = system{name: "ccc-nixos-system-25.05.3", kernel: "k-6.6.60", initrd: "i-2", modules: "m-6.6.60", generation: 43, linkTime: t3}
	sysContainer = system{name: "ddd-nixos-system-ct", generation: 7, linkTime: t2}
)

func fakeRunner(version, systemctl string) *cmdrun.Fake {
	f := cmdrun.NewFake(nil)
	if version != "" {
		f.Set("nixos-version --json", cmdrun.Reply{StdoutFile: filepath.Join("testdata", "nixos-version", version)})
	}
	if systemctl != "" {
		f.Set(strings.Join(systemd.Argv("systemctl", "nixos-upgrade.service"), " "),
			cmdrun.Reply{StdoutFile: filepath.Join("..", "systemd", "testdata", systemctl)})
	}
	return f
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name                     string
		systems                  []system
		profile, current, booted string
		version, systemctl       string
		wantErr                  string // substring; "" = success
		wantHome                 map[string]any
	}{
		{name: "same-system", systems: []system{sysOld, sysNewUser}, profile: sysNewUser.name, current: sysNewUser.name, booted: sysNewUser.name,
			version: "24.11-flake.json", systemctl: "upgrade-success.txt",
			wantHome: map[string]any{"deploy_generation": 42, "reboot_pending": 0, "upgrade_ok": 1, "deploy_age_hours": 56.9}},
		{name: "userspace-only-change", systems: []system{sysOld, sysNewUser}, profile: sysNewUser.name, current: sysNewUser.name, booted: sysOld.name,
			version: "25.05-channel.json", systemctl: "upgrade-success.txt",
			wantHome: map[string]any{"reboot_pending": 0}},
		{name: "kernel-changed", systems: []system{sysOld, sysNewUser, sysNewKern}, profile: sysNewKern.name, current: sysNewKern.name, booted: sysNewUser.name,
			version: "24.11-flake.json", systemctl: "upgrade-failed.txt",
			wantHome: map[string]any{"reboot_pending": 1, "deploy_generations": 3, "upgrade_ok": 0, "upgrade_result": "exit-code"}},
		{name: "switch-pending", systems: []system{sysOld, sysNewUser, sysNewKern}, profile: sysNewKern.name, current: sysNewUser.name, booted: sysNewUser.name,
			version: "24.11-flake.json", systemctl: "upgrade-running.txt",
			wantHome: map[string]any{"switch_pending": 1, "reboot_pending": 0}},
		{name: "never-upgraded", systems: []system{sysOld}, profile: sysOld.name, current: sysOld.name, booted: sysOld.name,
			version: "25.05-channel.json", systemctl: "upgrade-never-ran.txt"},
		{name: "container-no-kernel", systems: []system{sysContainer}, profile: sysContainer.name, current: sysContainer.name, booted: sysContainer.name,
			version: "25.05-channel.json", systemctl: "upgrade-success.txt"},
		{name: "no-booted-system", systems: []system{sysOld}, profile: sysOld.name, current: sysOld.name, booted: "",
			version: "25.05-channel.json", systemctl: "upgrade-success.txt", wantErr: "reboot check"},
		{name: "nixos-version-missing", systems: []system{sysOld}, profile: sysOld.name, current: sysOld.name, booted: sysOld.name,
			version: "", systemctl: "upgrade-success.txt", wantErr: "nixos-version: nixos-version: tool not found"},
		{name: "nixos-version-garbage", systems: []system{sysOld}, profile: sysOld.name, current: sysOld.name, booted: sysOld.name,
			version: "garbage.txt", systemctl: "upgrade-success.txt", wantErr: "nixos-version: decode JSON"},
		{name: "upgrade-unit-not-found", systems: []system{sysOld}, profile: sysOld.name, current: sysOld.name, booted: sysOld.name,
			version: "25.05-channel.json", systemctl: "upgrade-not-found.txt", wantErr: "unit not found"},
		{name: "systemctl-old-timestamps", systems: []system{sysOld}, profile: sysOld.name, current: sysOld.name, booted: sysOld.name,
			version: "25.05-channel.json", systemctl: "old-timestamp-format.txt", wantErr: "--timestamp=unix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tree(t, tc.systems, tc.profile, tc.current, tc.booted)
			c, err := New(cfg, fakeRunner(tc.version, tc.systemctl), nil, func() time.Time { return testNow }, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Update(context.Background())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Update: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Update error = %v, want it to contain %q", err, tc.wantErr)
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

func TestTimeoutAndPermission(t *testing.T) {
	cfg := tree(t, []system{sysOld}, sysOld.name, sysOld.name, sysOld.name)
	cfg.Timeout = 50 * time.Millisecond
	f := fakeRunner("", "")
	f.Set("nixos-version --json", cmdrun.Reply{Hang: true})
	f.Set(strings.Join(systemd.Argv("systemctl", "nixos-upgrade.service"), " "), cmdrun.Reply{Err: cmdrun.ErrPermission})
	c, err := New(cfg, f, nil, func() time.Time { return testNow }, nil)
	must(t, err)
	res, err := c.Update(context.Background())
	if !errors.Is(err, cmdrun.ErrTimeout) || !errors.Is(err, cmdrun.ErrPermission) {
		t.Fatalf("error %v: want timeout and permission", err)
	}
	// The filesystem parts are still reported.
	if res.Homepage["deploy_generation"] != 41 {
		t.Errorf("generation missing from partial result: %v", res.Homepage)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{ProfilesDir: "nix/profiles"}, `profiles_dir: "nix/profiles" is not an absolute path`},
		{Config{NixosVersion: []string{""}}, "nixos_version_command[0]: empty program"},
		{Config{UpgradeUnit: "x.service", UpgradeUnitDisabled: true}, `upgrade_unit: "x.service" is set but upgrade_unit_disabled is true`},
		{Config{Timeout: -time.Second}, "timeout: -1s is negative"},
	}
	for _, tc := range cases {
		servetest.ValidateError(t, tc.cfg.Validate(), tc.want)
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, name := range []string{"24.11-flake.json", "25.05-channel.json", "26.05-published-vps.json", "23.05pre-published-channel.json", "garbage.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "nixos-version", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVersion(b)
		if err == nil && v.NixosVersion == "" {
			t.Fatal("accepted output without nixosVersion")
		}
	})
}

// publishedProfiles reads a NixOS host's profile links as a user published
// them (`stat -c "%n %y"` then `readlink` for every system-N-link; see
// testdata/SOURCES.md): their real generation numbers, store names and
// mtimes.
func publishedProfiles(t *testing.T, p string) []system {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines)%2 != 0 {
		t.Fatalf("%s: %d lines, want stat/readlink pairs", p, len(lines))
	}
	var out []system
	for i := 0; i < len(lines); i += 2 {
		path, when, ok := strings.Cut(lines[i], " ")
		if !ok {
			t.Fatalf("%s:%d: no time", p, i+1)
		}
		var gen int
		if _, err := fmt.Sscanf(filepath.Base(path), "system-%d-link", &gen); err != nil {
			t.Fatalf("%s:%d: %v", p, i+1, err)
		}
		mtime, err := time.Parse("2006-01-02 15:04:05.999999999 -0700", when)
		if err != nil {
			t.Fatalf("%s:%d: %v", p, i+1, err)
		}
		out = append(out, system{name: filepath.Base(lines[i+1]), generation: gen, linkTime: mtime})
	}
	return out
}

// A real host's 21 generations (numbered 1..21, listed in the shell's
// lexical order) and its nixos-version --json. The transcript shows
// /run/current-system and the system profile on generation 21; it does not
// show /run/booted-system or the kernel links, so booted is taken equal to
// current and the systems have no kernel components.
func TestPublishedNixOSHost(t *testing.T) {
	systems := publishedProfiles(t, filepath.Join("testdata", "published", "nixos-vps-profiles.txt"))
	cur := "yhczh27iwxqsbikj51c4lkb4gpwzzmwh-nixos-system-nixos-vps-26.05.20251129.59b6c96"
	cfg := tree(t, systems, cur, cur, cur)
	now := time.Date(2026, 9, 25, 17, 47, 22, 0, time.UTC) // the transcript's `date -u`
	c, err := New(cfg, fakeRunner("26.05-published-vps.json", "upgrade-never-ran.txt"), nil, func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Update(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	servetest.GoldenMetrics(t, filepath.Join("testdata", "golden", "published-nixos-vps.prom"), c.Describe(), res.Metrics, *update)
	for k, want := range map[string]any{"deploy_generation": 21, "deploy_generations": 21, "reboot_pending": 0} {
		if got := res.Homepage[k]; got != want {
			t.Errorf("homepage[%s] = %#v, want %#v", k, got, want)
		}
	}
}

// Outputs users published of `nixos-version --json` on their hosts.
func TestParsePublishedVersions(t *testing.T) {
	for name, want := range map[string]Version{
		"26.05-published-vps.json":        {NixosVersion: "26.05.20251129.59b6c96", NixpkgsRevision: "59b6c96beacc898566c9be1052ae806f3835f87d"},
		"23.05pre-published-channel.json": {NixosVersion: "23.05pre474339.f294325aed3", NixpkgsRevision: "f294325aed382b66c7a188482101b0f336d1d7db"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "nixos-version", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseVersion(b)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, want)
		}
	}
}
