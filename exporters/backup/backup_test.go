package backup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve/servetest"
	"github.com/hlalert/hlalert/exporters/systemd"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// placed copies a fixture into a temp dir with the given mtime.
func placed(t *testing.T, fixture string, mtime time.Time) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(fixture))
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return dst
}

func file(dir, name string) cmdrun.Reply {
	return cmdrun.Reply{StdoutFile: filepath.Join("testdata", dir, name)}
}

func exitReply(t *testing.T, code int, stdout, stderrFile string) cmdrun.Reply {
	t.Helper()
	r := cmdrun.Reply{ExitCode: code, StdoutFile: stdout}
	if stderrFile != "" {
		b, err := os.ReadFile(stderrFile)
		if err != nil {
			t.Fatal(err)
		}
		r.Stderr = b
	}
	return r
}

func resticRepo(t *testing.T, name string) Repository {
	return Repository{Name: name, Tool: "restic", Repository: "/srv/restic/" + name,
		PasswordFile: abs(t, "testdata/secrets/password"), Location: "nas", Tier: "local"}
}

func systemctlKey(u string) string { return strings.Join(systemd.Argv("systemctl", u), " ") }

// goldenCase is one /metrics scenario over captured tool outputs.
type goldenCase struct {
	name     string
	repos    func(t *testing.T) []Repository
	zone     string
	fake     func(t *testing.T, f *cmdrun.Fake)
	wantErr  []string // substrings
	wantIs   []error
	wantHome map[string]any
	after    func(t *testing.T, f *cmdrun.Fake) // further checks on the commands run
}

func TestGolden(t *testing.T) {
	restic14 := func(f *cmdrun.Fake) {
		f.Set("restic snapshots --json --no-lock", file("restic-0.14.0", "snapshots.json"))
		f.Set("restic stats --json --mode raw-data --no-lock", file("restic-0.14.0", "stats-raw-data.json"))
		f.Set("restic list locks --no-lock", file("restic-0.14.0", "locks-none.txt"))
		f.Set("restic version", file("restic-0.14.0", "version.txt"))
		f.Set("restic check", file("restic-0.14.0", "check.txt"))
	}
	restic18 := func(f *cmdrun.Fake) {
		f.Set("restic snapshots --json --no-lock", file("restic-0.18.1", "snapshots.json"))
		f.Set("restic stats --json --mode raw-data --no-lock", file("restic-0.18.1", "stats-raw-data.json"))
		f.Set("restic list locks --no-lock", file("restic-0.18.1", "locks-none.txt"))
		f.Set("restic version", file("restic-0.18.1", "version.txt"))
		f.Set("restic check --json", file("restic-0.18.1", "check.json"))
	}
	borg12 := func(f *cmdrun.Fake) {
		f.Set("borg --version", file("borg-1.2.4", "version.txt"))
		f.Set("borg list --json --bypass-lock --format {hostname}{end}", file("borg-1.2.4", "list-format.json"))
		f.Set("borg info --json --bypass-lock --last 1", file("borg-1.2.4", "info-last1.json"))
		f.Set("borg check", file("borg-1.2.4", "check.txt"))
	}
	lockID := "3434d7ce2d6a8ad5d9c1d7d0b6f9ab30f5d1ba0f8f3b79e2e1d2f0e2c31b4c7a"

	cases := []goldenCase{
		{
			name: "restic-0.14.0",
			repos: func(t *testing.T) []Repository {
				r := resticRepo(t, "nas")
				r.LastRun = &Source{MarkerFile: placed(t, "testdata/secrets/password", time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))}
				return []Repository{r}
			},
			fake: func(t *testing.T, f *cmdrun.Fake) { restic14(f) },
			// The marker (03:00) is newer than the newest snapshot (23:41): --skip-if-unchanged.
			wantHome: map[string]any{"nas_ok": 1, "backup_age_hours": 9.0, "repositories_ok": 1},
		},
		{
			name: "restic-0.18.1",
			repos: func(t *testing.T) []Repository {
				r := resticRepo(t, "nas")
				r.LastRun = &Source{Unit: "restic-backups-nas.service"}
				r.RestoreTest = &Source{SummaryFile: placed(t, "testdata/restic-0.18.1/restore.json", time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))}
				return []Repository{r}
			},
			fake: func(t *testing.T, f *cmdrun.Fake) {
				restic18(f)
				f.Set("restic list locks --no-lock", cmdrun.Reply{Stdout: []byte(lockID + "\n")})
				f.Set("restic cat lock "+lockID+" --no-lock", file("restic-0.18.1", "lock.json"))
				f.Set(systemctlKey("restic-backups-nas.service"), file("systemctl", "backup-success.txt"))
			},
			wantHome: map[string]any{"nas_ok": 1, "restore_test_age_days": 2.0, "nas_restore_test_age_days": 2.0},
		},
		{
			name: "restic-0.18.1-damaged",
			repos: func(t *testing.T) []Repository {
				r := resticRepo(t, "nas")
				r.LastRun = &Source{Unit: "restic-backups-nas.service"}
				r.RestoreTest = &Source{SummaryFile: placed(t, "testdata/restic-0.18.1/restore-errors-combined.json", time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC))}
				return []Repository{r}
			},
			fake: func(t *testing.T, f *cmdrun.Fake) {
				restic18(f)
				f.Set("restic check --json", exitReply(t, 1, "testdata/restic-0.18.1/check-errors.json", "testdata/restic-0.18.1/check-errors.stderr"))
				f.Set(systemctlKey("restic-backups-nas.service"), file("systemctl", "backup-failed.txt"))
			},
			// A check that found errors and a failed restore are results, not collector failures.
			wantHome: map[string]any{"nas_ok": 1},
		},
		{
			name:  "restic-0.18.1-locked",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				restic18(f)
				f.Set("restic check --json", exitReply(t, 11, "testdata/restic-0.18.1/check-locked.json", "testdata/restic-0.18.1/check-locked.stderr"))
			},
			wantErr: []string{"repository nas: check: check --json: exit status 11: repository is locked: unable to create lock in backend: repository is already locked exclusively by PID 21805"},
			wantIs:  []error{ErrLocked},
		},
		{
			name:  "restic-0.14.0-two-repos-locked",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas"), resticRepo(t, "bad")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				restic14(f)
				f.Set("restic check", exitReply(t, 1, "", "testdata/restic-0.14.0/check-locked.txt"))
			},
			wantErr: []string{"repository nas: check: check: exit status 1: repository is locked", "repository bad: check"},
			wantIs:  []error{ErrLocked},
		},
		{
			name:  "restic-0.14.0-damaged",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				restic14(f)
				f.Set("restic check", exitReply(t, 1, "", "testdata/restic-0.14.0/check-errors.txt"))
			},
			// restic < 0.18: "repository contains errors" with exit 1 is a check result.
			wantHome: map[string]any{"nas_ok": 1},
		},
		{
			name: "borg-1.2.4-berlin",
			zone: "Europe/Berlin",
			repos: func(t *testing.T) []Repository {
				return []Repository{{Name: "offsite", Tool: "borg", Repository: "ssh://backup@u1.example.net:23/./borg",
					PasswordFile: abs(t, "testdata/secrets/password"), EnvFile: abs(t, "testdata/secrets/b2.env"), Location: "storagebox", Tier: "offsite"}}
			},
			fake:     func(t *testing.T, f *cmdrun.Fake) { borg12(f) },
			wantHome: map[string]any{"offsite_ok": 1, "offsite_last_backup": time.Date(2026, 11, 21, 23, 42, 16, 0, time.UTC)},
		},
		{
			name: "borg-1.2.4-wrong-password",
			repos: func(t *testing.T) []Repository {
				return []Repository{{Name: "offsite", Tool: "borg", Repository: "/srv/borg", PasswordFile: abs(t, "testdata/secrets/password"),
					Location: "nas", Tier: "local", CheckInterval: -1}}
			},
			fake: func(t *testing.T, f *cmdrun.Fake) {
				f.Set("borg --version", file("borg-1.2.4", "version.txt"))
				f.Set("borg list --json --bypass-lock --format {hostname}{end}", exitReply(t, 2, "", "testdata/borg-1.2.4/list-wrongpw.stderr"))
				f.Set("borg info --json --bypass-lock --last 1", exitReply(t, 2, "", "testdata/borg-1.2.4/list-wrongpw.stderr"))
			},
			wantErr: []string{"list --json --bypass-lock --format {hostname}{end}: exit status 2: wrong password: passphrase supplied in BORG_PASSPHRASE"},
			wantIs:  []error{ErrWrongPass},
		},
		{
			name:  "restic-missing",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake:  func(t *testing.T, f *cmdrun.Fake) {},
			wantErr: []string{"repository nas: snapshots: restic: tool not found", "repository nas: stats:",
				"repository nas: locks:", "repository nas: check: restic version: restic: tool not found"},
			wantIs:   []error{cmdrun.ErrNotFound},
			wantHome: map[string]any{"nas_ok": 0, "repositories_ok": 0},
		},
		{
			name:  "restic-wrong-password-garbage-permission",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				restic14(f)
				f.Set("restic snapshots --json --no-lock", exitReply(t, 1, "", "testdata/restic-0.14.0/snapshots-wrongpw.stderr"))
				f.Set("restic stats --json --mode raw-data --no-lock", cmdrun.Reply{Stdout: []byte("<html>502 Bad Gateway</html>")})
				f.Set("restic list locks --no-lock", cmdrun.Reply{Err: cmdrun.ErrPermission})
			},
			wantErr: []string{"snapshots: snapshots --json --no-lock: exit status 1: wrong password: Fatal: wrong password or no key found",
				"stats: restic stats: decode JSON", "locks: permission denied"},
			wantIs: []error{ErrWrongPass, cmdrun.ErrPermission},
		},
		{
			name:  "restic-0.14.0-no-repository",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				restic14(f)
				f.Set("restic snapshots --json --no-lock", exitReply(t, 1, "", "testdata/restic-0.14.0/snapshots-norepo.stderr"))
			},
			wantErr: []string{"repository does not exist: Fatal: unable to open config file"},
			wantIs:  []error{ErrNoRepository},
		},
	}
	cases = append(cases, newerVersionCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := cmdrun.NewFake(nil)
			tc.fake(t, f)
			c, err := New(Config{TimeZone: tc.zone, Repositories: tc.repos(t)}, Deps{Runner: f, Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Update(context.Background())
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatalf("Update: %v", err)
			}
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Update error = %v\nwant it to contain %q", err, w)
				}
			}
			for _, w := range tc.wantIs {
				if !errors.Is(err, w) {
					t.Errorf("Update error = %v, want errors.Is %v", err, w)
				}
			}
			servetest.GoldenMetrics(t, filepath.Join("testdata", "golden", tc.name+".prom"), c.Describe(), res.Metrics, *update)
			servetest.GoldenHomepage(t, filepath.Join("testdata", "golden", tc.name+".homepage.json"), c.Name(), c.Describe(), res, err, testNow, *update)
			for k, want := range tc.wantHome {
				got, ok := res.Homepage[k]
				if tw, isTime := want.(time.Time); isTime {
					if gt, _ := got.(time.Time); !gt.Equal(tw) {
						t.Errorf("homepage[%s] = %v, want %v", k, got, want)
					}
					continue
				}
				if !ok || got != want {
					t.Errorf("homepage[%s] = %#v, want %#v (all: %v)", k, got, want, res.Homepage)
				}
			}
			if _, ok := res.Homepage["error"]; ok {
				t.Error("homepage has an error key")
			}
			if tc.after != nil {
				tc.after(t, f)
			}
		})
	}
}

// TestEnvironment checks what the tools get: repository and password file
// names for restic, never a shell line; env_file entries added.
func TestEnvironment(t *testing.T) {
	f := cmdrun.NewFake(nil)
	r := resticRepo(t, "b2")
	r.Repository = "b2:bucket:/host"
	r.EnvFile = abs(t, "testdata/secrets/b2.env")
	r.CacheDir = "/var/cache/hlexporter/restic"
	c, err := New(Config{Repositories: []Repository{r}}, Deps{Runner: f, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	c.Update(context.Background()) //nolint:errcheck // every command fails: the fake has no replies
	want := []string{"B2_ACCOUNT_ID=0012345", "B2_ACCOUNT_KEY=K001abcdef", "RESTIC_REPOSITORY=b2:bucket:/host",
		"RESTIC_PASSWORD_FILE=" + abs(t, "testdata/secrets/password"), "RESTIC_CACHE_DIR=/var/cache/hlexporter/restic"}
	if got := f.Env("restic snapshots --json --no-lock"); !slices.Equal(got, want) {
		t.Errorf("env = %q\nwant %q", got, want)
	}
	// Remote: interval 1h, check weekly.
	if got := c.(*collector).repos[0].s; got.interval != time.Hour || got.checkInterval != 7*24*time.Hour {
		t.Errorf("remote defaults: interval %s check %s", got.interval, got.checkInterval)
	}
}

// TestSchedule drives the collector with a fake clock at several update
// rates and counts commands: restic runs exactly as often as each
// interval says, whatever the rate, and failures are not retried early.
func TestSchedule(t *testing.T) {
	cases := []struct {
		name                               string
		step, span                         time.Duration
		interval, check                    time.Duration
		snapshotsFail                      bool
		wantSnapshots, wantCheck, wantUnit int
	}{
		{name: "every-minute-3h", step: time.Minute, span: 3 * time.Hour, interval: time.Hour, check: 24 * time.Hour,
			wantSnapshots: 4, wantCheck: 1, wantUnit: 181},
		{name: "every-7s-2h", step: 7 * time.Second, span: 2 * time.Hour, interval: time.Hour, check: 24 * time.Hour,
			wantSnapshots: 2, wantCheck: 1, wantUnit: 1029},
		{name: "every-15s-26h-local", step: 15 * time.Second, span: 26 * time.Hour, interval: 15 * time.Minute, check: 24 * time.Hour,
			wantSnapshots: 105, wantCheck: 2, wantUnit: 6241},
		{name: "failing-every-minute-3h", step: time.Minute, span: 3 * time.Hour, interval: time.Hour, check: 24 * time.Hour,
			snapshotsFail: true, wantSnapshots: 4, wantCheck: 1, wantUnit: 181},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := cmdrun.NewFake(nil)
			f.Set("restic snapshots --json --no-lock", file("restic-0.18.1", "snapshots.json"))
			if tc.snapshotsFail {
				f.Set("restic snapshots --json --no-lock", cmdrun.Reply{Err: cmdrun.ErrTimeout})
			}
			f.Set("restic stats --json --mode raw-data --no-lock", file("restic-0.18.1", "stats-raw-data.json"))
			f.Set("restic list locks --no-lock", file("restic-0.18.1", "locks-none.txt"))
			f.Set("restic version", file("restic-0.18.1", "version.txt"))
			f.Set("restic check --json", file("restic-0.18.1", "check.json"))
			f.Set(systemctlKey("restic-backups-nas.service"), file("systemctl", "backup-success.txt"))
			r := resticRepo(t, "nas")
			r.Interval, r.CheckInterval = tc.interval, tc.check
			r.LastRun = &Source{Unit: "restic-backups-nas.service"}
			clock := testNow
			c, err := New(Config{Repositories: []Repository{r}}, Deps{Runner: f, Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			for end := testNow.Add(tc.span); !clock.After(end); clock = clock.Add(tc.step) {
				res, err := c.Update(context.Background())
				if tc.snapshotsFail {
					if err == nil || !errors.Is(err, cmdrun.ErrTimeout) {
						t.Fatalf("at %s: error %v, want the snapshot timeout reported on every update", clock, err)
					}
					if txt := string(servetest.Exposition(t, c.Describe(), res.Metrics)); strings.Contains(txt, "hlexporter_backup_snapshots{") {
						t.Fatalf("at %s: snapshot values served while the source fails", clock)
					}
				} else if err != nil {
					t.Fatalf("at %s: %v", clock, err)
				}
			}
			got := []int{f.Calls("restic snapshots --json --no-lock"), f.Calls("restic stats --json --mode raw-data --no-lock"),
				f.Calls("restic check --json"), f.Calls("restic version"), f.Calls(systemctlKey("restic-backups-nas.service"))}
			want := []int{tc.wantSnapshots, tc.wantSnapshots, tc.wantCheck, 1, tc.wantUnit}
			if !slices.Equal(got, want) {
				t.Errorf("calls snapshots, stats, check, version, systemctl = %v, want %v", got, want)
			}
		})
	}
}

// TestTimeout: a hanging tool is cut at the repository's timeout and the
// other repository is still reported.
func TestTimeout(t *testing.T) {
	f := cmdrun.NewFake(nil)
	f.Set("restic snapshots --json --no-lock", cmdrun.Reply{Hang: true})
	f.Set("borg --version", file("borg-1.2.4", "version.txt"))
	f.Set("borg list --json --bypass-lock --format {hostname}{end}", file("borg-1.2.4", "list-format.json"))
	f.Set("borg info --json --bypass-lock --last 1", file("borg-1.2.4", "info-last1.json"))
	r := resticRepo(t, "nas")
	r.Timeout = 20 * time.Millisecond
	b := Repository{Name: "offsite", Tool: "borg", Repository: "/srv/borg", PasswordFile: abs(t, "testdata/secrets/password"),
		Location: "nas", Tier: "local", CheckInterval: -1}
	c, err := New(Config{Repositories: []Repository{r, b}}, Deps{Runner: f, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Update(context.Background())
	if !errors.Is(err, cmdrun.ErrTimeout) || !strings.Contains(err.Error(), "repository nas: snapshots") {
		t.Fatalf("err = %v", err)
	}
	if res.Homepage["offsite_ok"] != 1 || res.Homepage["nas_ok"] != 0 {
		t.Errorf("homepage = %v", res.Homepage)
	}
}

func TestValidate(t *testing.T) {
	good := func() Repository {
		return Repository{Name: "nas", Tool: "restic", Repository: "/srv/r", PasswordFile: "/run/pw", Location: "nas", Tier: "local"}
	}
	cases := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"good", func(c *Config) {}, ""},
		{"no-repos", func(c *Config) { c.Repositories = nil }, "repositories: at least one repository is needed"},
		{"bad-zone", func(c *Config) { c.TimeZone = "Mars/Olympus" }, `time_zone: unknown time zone "Mars/Olympus"`},
		{"bad-tool", func(c *Config) { c.Repositories[0].Tool = "kopia" }, `repositories[0].tool: "kopia" is not supported (restic or borg)`},
		{"bad-name", func(c *Config) { c.Repositories[0].Name = "NAS copy" }, `repositories[0].name: "NAS copy" must match [a-z0-9_]+`},
		{"both-repo", func(c *Config) { c.Repositories[0].RepositoryFile = "/run/repo" }, "repositories[0].repository_file: set exactly one of repository and repository_file"},
		{"relative-pw", func(c *Config) { c.Repositories[0].PasswordFile = "pw" }, `repositories[0].password_file: "pw" is not an absolute path`},
		{"no-tier", func(c *Config) { c.Repositories[0].Tier = "" }, "repositories[0].tier: missing (e.g. local, offsite)"},
		{"short-interval", func(c *Config) { c.Repositories[0].Interval = time.Second }, "repositories[0].interval: 1s is below 1m"},
		{"dup", func(c *Config) { c.Repositories = append(c.Repositories, good()) }, `repositories[1].name: "nas" is used twice (also repositories[0])`},
		{"two-sources", func(c *Config) { c.Repositories[0].LastRun = &Source{Unit: "a.service", MarkerFile: "/x"} }, "repositories[0].last_run: set exactly one of unit, marker_file"},
		{"summary-on-run", func(c *Config) { c.Repositories[0].LastRun = &Source{SummaryFile: "/x"} }, "repositories[0].last_run.summary_file: only restore_test has a summary file"},
		{"everything", func(c *Config) {
			c.TimeZone = "Mars/Olympus"
			c.Repositories = append(c.Repositories, Repository{Name: "nas", RestoreTest: &Source{Unit: "a b"}}, Repository{Tool: "kopia", Repository: "/r", RepositoryFile: "/f", PasswordFile: "pw"})
		}, strings.Join([]string{
			`time_zone: unknown time zone "Mars/Olympus"`,
			"repositories[1].tool: missing (restic or borg)",
			"repositories[1].repository: missing (set repository or repository_file)",
			"repositories[1].password_file: missing",
			"repositories[1].location: missing (e.g. nas, b2)",
			"repositories[1].tier: missing (e.g. local, offsite)",
			`repositories[1].restore_test.unit: "a b" is not a unit name`,
			`repositories[1].name: "nas" is used twice (also repositories[0])`,
			`repositories[2].name: "" must match [a-z0-9_]+`,
			`repositories[2].tool: "kopia" is not supported (restic or borg)`,
			"repositories[2].repository_file: set exactly one of repository and repository_file",
			`repositories[2].password_file: "pw" is not an absolute path`,
			"repositories[2].location: missing (e.g. nas, b2)",
			"repositories[2].tier: missing (e.g. local, offsite)",
		}, "\n")},
		{"restic-zone", func(c *Config) { c.Repositories[0].TimeZone = "UTC" }, "repositories[0].time_zone: only borg timestamps need a zone; restic's carry one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Repositories: []Repository{good()}}
			tc.mod(&c)
			servetest.ValidateError(t, c.Validate(), tc.want)
		})
	}
}

// BenchmarkUpdateNothingDue measures an update when no slow source is due:
// the common case between intervals (one systemctl call, no restic).
func BenchmarkUpdateNothingDue(b *testing.B) {
	f := cmdrun.NewFake(nil)
	f.Set("restic snapshots --json --no-lock", file("restic-0.18.1", "snapshots.json"))
	f.Set("restic stats --json --mode raw-data --no-lock", file("restic-0.18.1", "stats-raw-data.json"))
	f.Set("restic list locks --no-lock", file("restic-0.18.1", "locks-none.txt"))
	f.Set("restic version", file("restic-0.18.1", "version.txt"))
	f.Set("restic check --json", file("restic-0.18.1", "check.json"))
	f.Set(systemctlKey("restic-backups-nas.service"), file("systemctl", "backup-success.txt"))
	r := Repository{Name: "nas", Tool: "restic", Repository: "/srv/restic", PasswordFile: "/run/pw", Location: "nas", Tier: "local",
		LastRun: &Source{Unit: "restic-backups-nas.service"}}
	clock := testNow
	c, err := New(Config{Repositories: []Repository{r}}, Deps{Runner: f, Now: func() time.Time { return clock }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Update(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		clock = clock.Add(time.Millisecond)
		if _, err := c.Update(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	if n := f.Calls("restic snapshots --json --no-lock"); n != 1 {
		b.Fatalf("restic snapshots ran %d times", n)
	}
}

// The serving layer's update timeout must cover one update's worst case:
// the slowest repository's due sources back to back.
func TestUpdateBudget(t *testing.T) {
	restic := Repository{Name: "nas", Tool: "restic", Repository: "/srv/r", PasswordFile: "/p", Location: "nas", Tier: "local",
		LastRun: &Source{Unit: "restic-backups-nas.service"}, RestoreTest: &Source{MarkerFile: "/var/lib/restore-ok"}}
	borg := Repository{Name: "offsite", Tool: "borg", Repository: "ssh://u@h/r", PasswordFile: "/p", Location: "rsync", Tier: "offsite",
		Timeout: 30 * time.Minute, CheckInterval: -1}
	cfg := Config{Repositories: []Repository{restic, borg}}
	// restic: snapshots, stats, locks, check × 15m + last_run, restore_test × 1m = 62m;
	// borg: snapshots, stats × 30m (checks disabled) = 60m.
	if got, want := cfg.UpdateBudget(), 62*time.Minute; got != want {
		t.Fatalf("UpdateBudget = %s, want %s", got, want)
	}
	if err := cfg.CheckUpdateTimeout(62 * time.Minute); err != nil {
		t.Errorf("62m: %v", err)
	}
	err := cfg.CheckUpdateTimeout(30 * time.Minute)
	if err == nil {
		t.Fatal("30m accepted")
	}
	for _, want := range []string{
		`update_timeout: 30m0s is shorter than one update of repository "nas" can take: 4 tool sources (snapshots, stats, locks, check) one after another under timeout 15m0s each, plus 2 local sources (last_run, restore_test) under 1m0s each = 1h2m0s; raise update_timeout to at least 1h2m0s or lower repositories[0].timeout`,
		`repository "offsite" can take: 2 tool sources (snapshots, stats) one after another under timeout 30m0s each = 1h0m0s; raise update_timeout to at least 1h0m0s or lower repositories[1].timeout`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%s\nlacks\n%s", err, want)
		}
	}
	// The collector runs exactly the sources the budget counts, each under
	// its own timeout.
	c, err := New(cfg, Deps{Runner: cmdrun.NewFake(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range c.(*collector).repos {
		for _, s := range r.sources {
			got = append(got, fmt.Sprintf("%s/%s/%s", r.s.Name, s.name, s.timeout))
		}
	}
	want := "nas/snapshots/15m0s nas/stats/15m0s nas/locks/15m0s nas/check/15m0s nas/last_run/1m0s nas/restore_test/1m0s offsite/snapshots/30m0s offsite/stats/30m0s"
	if strings.Join(got, " ") != want {
		t.Errorf("sources %s\nwant    %s", strings.Join(got, " "), want)
	}
}
