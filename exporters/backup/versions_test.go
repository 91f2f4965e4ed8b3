package backup

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlalert/hlalert/exporters/cmdrun"
)

// replay answers with a captured run: its exit code from the rc file
// ("rc=N"), its stdout and stderr from their files ("" for none).
func replay(t *testing.T, dir, rc, stdout, stderr string) cmdrun.Reply {
	t.Helper()
	var r cmdrun.Reply
	if rc != "" {
		b := read(t, filepath.Join("testdata", dir, rc))
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(b)), "rc="))
		if err != nil || n == 0 {
			t.Fatalf("%s/%s: not a non-zero rc=N: %q", dir, rc, b)
		}
		r.ExitCode = n
	}
	if stdout != "" {
		r.StdoutFile = filepath.Join("testdata", dir, stdout)
	}
	if stderr != "" {
		r.Stderr = read(t, filepath.Join("testdata", dir, stderr))
	}
	return r
}

// resticFake answers the commands the collector runs with a restic
// version's captured outputs; check is run with --json from 0.18 on.
func resticFake(f *cmdrun.Fake, dir string) {
	f.Set("restic snapshots --json --no-lock", file(dir, "snapshots.json"))
	f.Set("restic stats --json --mode raw-data --no-lock", file(dir, "stats-raw-data.json"))
	f.Set("restic list locks --no-lock", file(dir, "locks-none.txt"))
	f.Set("restic version", file(dir, "version.txt"))
	f.Set("restic check", file(dir, "check.txt"))
}

func borgFake(f *cmdrun.Fake, dir string) {
	f.Set("borg --version", file(dir, "version.txt"))
	f.Set("borg list --json --bypass-lock --format {hostname}{end}", file(dir, "list-format.json"))
	f.Set("borg info --json --bypass-lock --last 1", file(dir, "info-last1.json"))
	f.Set("borg check", file(dir, "check.txt"))
}

func borgRepo(t *testing.T) Repository {
	return Repository{Name: "offsite", Tool: "borg", Repository: "ssh://backup@u1.example.net:23/./borg",
		PasswordFile: abs(t, "testdata/secrets/password"), Location: "storagebox", Tier: "offsite"}
}

// utc reads an RFC 3339 time.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newerVersionCases are the golden scenarios over restic 0.16.5 and
// 0.17.3, borg 1.4.0 and borg 2.0.0b19 (see testdata/SOURCES.md).
func newerVersionCases() []goldenCase {
	const lsFormat = "borg list --json --bypass-lock --format {hostname}{end}"
	const info = "borg info --json --bypass-lock --last 1"
	return []goldenCase{
		{
			name: "restic-0.16.5",
			repos: func(t *testing.T) []Repository {
				r := resticRepo(t, "nas")
				r.RestoreTest = &Source{SummaryFile: placed(t, "testdata/restic-0.16.5/restore.json", time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))}
				return []Repository{r}
			},
			fake: func(t *testing.T, f *cmdrun.Fake) { resticFake(f, "restic-0.16.5") },
			// Snapshot times carry +01:00; no summary before 0.17.
			wantHome: map[string]any{"nas_ok": 1, "nas_last_backup": time.Date(2026, 11, 22, 2, 4, 49, 392798675, time.UTC),
				"backup_age_hours": 9.9, "restore_test_age_days": 1.0},
		},
		{
			name:  "restic-0.16.5-locked",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				resticFake(f, "restic-0.16.5")
				id := strings.TrimSpace(string(read(t, "testdata/restic-0.16.5/locks.txt")))
				f.Set("restic list locks --no-lock", file("restic-0.16.5", "locks.txt"))
				f.Set("restic cat lock "+id+" --no-lock", file("restic-0.16.5", "lock.json"))
				f.Set("restic check", replay(t, "restic-0.16.5", "check-locked.rc", "", "check-locked.txt"))
			},
			// Exit 1 before 0.17: the cause is read from the text; the
			// message skips the "repo already locked, waiting" progress line.
			wantErr: []string{"repository nas: check: check: exit status 1: repository is locked: unable to create lock in backend: repository is already locked exclusively by PID 26307"},
			wantIs:  []error{ErrLocked},
		},
		{
			name: "restic-0.16.5-damaged",
			repos: func(t *testing.T) []Repository {
				r := resticRepo(t, "nas")
				r.RestoreTest = &Source{SummaryFile: placed(t, "testdata/restic-0.16.5/restore-errors-combined.json", time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC))}
				return []Repository{r}
			},
			fake: func(t *testing.T, f *cmdrun.Fake) {
				resticFake(f, "restic-0.16.5")
				f.Set("restic check", replay(t, "restic-0.16.5", "check-errors.rc", "", "check-errors.txt"))
			},
			// A failed check and a failed restore are results; restore_test_success 0.
			wantHome: map[string]any{"nas_ok": 1},
		},
		{
			name:  "restic-0.16.5-no-repository",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				resticFake(f, "restic-0.16.5")
				f.Set("restic snapshots --json --no-lock", replay(t, "restic-0.16.5", "snapshots-norepo.rc", "snapshots-norepo.stdout", "snapshots-norepo.stderr"))
			},
			wantErr: []string{"snapshots --json --no-lock: exit status 1: repository does not exist: Fatal: unable to open config file"},
			wantIs:  []error{ErrNoRepository},
		},
		{
			name: "restic-0.17.3",
			repos: func(t *testing.T) []Repository {
				r := resticRepo(t, "nas")
				r.LastRun = &Source{Unit: "restic-backups-nas.service"}
				r.RestoreTest = &Source{SummaryFile: placed(t, "testdata/restic-0.17.3/restore.json", time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))}
				return []Repository{r}
			},
			fake: func(t *testing.T, f *cmdrun.Fake) {
				resticFake(f, "restic-0.17.3")
				f.Set(systemctlKey("restic-backups-nas.service"), file("systemctl", "backup-success.txt"))
			},
			wantHome: map[string]any{"nas_ok": 1, "restore_test_age_days": 2.0},
			after: func(t *testing.T, f *cmdrun.Fake) {
				// 0.17's check --json prints text (testdata/restic-0.17.3/check-json.stdout).
				if f.Calls("restic check") != 1 || f.Calls("restic check --json") != 0 {
					t.Errorf("restic 0.17 checked with --json")
				}
			},
		},
		{
			name:  "restic-0.17.3-locked",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				resticFake(f, "restic-0.17.3")
				id := strings.TrimSpace(string(read(t, "testdata/restic-0.17.3/locks.txt")))
				f.Set("restic list locks --no-lock", file("restic-0.17.3", "locks.txt"))
				f.Set("restic cat lock "+id+" --no-lock", file("restic-0.17.3", "lock.json"))
				f.Set("restic check", replay(t, "restic-0.17.3", "check-locked.rc", "", "check-locked.txt"))
			},
			wantErr: []string{"repository nas: check: check: exit status 11: repository is locked: unable to create lock in backend: repository is already locked exclusively by PID 25680"},
			wantIs:  []error{ErrLocked},
		},
		{
			name: "restic-0.17.3-damaged",
			repos: func(t *testing.T) []Repository {
				r := resticRepo(t, "nas")
				r.RestoreTest = &Source{SummaryFile: placed(t, "testdata/restic-0.17.3/restore-errors-combined.json", time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC))}
				return []Repository{r}
			},
			fake: func(t *testing.T, f *cmdrun.Fake) {
				resticFake(f, "restic-0.17.3")
				f.Set("restic check", replay(t, "restic-0.17.3", "check-errors.rc", "", "check-errors.txt"))
			},
			wantHome: map[string]any{"nas_ok": 1},
		},
		{
			name:  "restic-0.17.3-wrong-password",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				resticFake(f, "restic-0.17.3")
				f.Set("restic snapshots --json --no-lock", replay(t, "restic-0.17.3", "snapshots-wrongpw.rc", "snapshots-wrongpw.stdout", "snapshots-wrongpw.stderr"))
			},
			wantErr: []string{"snapshots --json --no-lock: exit status 12: wrong password: Fatal: wrong password or no key found"},
			wantIs:  []error{ErrWrongPass},
		},
		{
			name:  "restic-0.17.3-no-repository",
			repos: func(t *testing.T) []Repository { return []Repository{resticRepo(t, "nas")} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				resticFake(f, "restic-0.17.3")
				f.Set("restic snapshots --json --no-lock", replay(t, "restic-0.17.3", "snapshots-norepo.rc", "snapshots-norepo.stdout", "snapshots-norepo.stderr"))
			},
			wantErr: []string{"snapshots --json --no-lock: exit status 10: repository does not exist: Fatal: repository does not exist: unable to open config file"},
			wantIs:  []error{ErrNoRepository},
		},
		{
			name:  "borg-1.4.0-berlin",
			zone:  "Europe/Berlin",
			repos: func(t *testing.T) []Repository { return []Repository{borgRepo(t)} },
			fake:  func(t *testing.T, f *cmdrun.Fake) { borgFake(f, "borg-1.4.0") },
			// 03:02:08 in Berlin (CET) is 02:02:08 UTC.
			wantHome: map[string]any{"offsite_ok": 1, "offsite_last_backup": time.Date(2026, 11, 22, 2, 2, 8, 0, time.UTC), "backup_age_hours": 10.0},
			after: func(t *testing.T, f *cmdrun.Fake) {
				if n := f.Calls("borg --version"); n != 1 {
					t.Errorf("borg --version ran %d times, want once", n)
				}
			},
		},
		{
			name:  "borg-1.4.0-locked",
			zone:  "Europe/Berlin",
			repos: func(t *testing.T) []Repository { return []Repository{borgRepo(t)} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				borgFake(f, "borg-1.4.0")
				f.Set("borg check", replay(t, "borg-1.4.0", "check-locked.rc", "", "check-locked.txt"))
			},
			// list and info bypass the lock; only check fails.
			wantErr: []string{"repository offsite: check: check: exit status 2: repository is locked: Failed to create/acquire the lock /tmp/h21/borgrepo/lock.exclusive (timeout)."},
			wantIs:  []error{ErrLocked},
		},
		{
			name:  "borg-1.4.0-damaged",
			zone:  "Europe/Berlin",
			repos: func(t *testing.T) []Repository { return []Repository{borgRepo(t)} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				borgFake(f, "borg-1.4.0")
				f.Set("borg check", replay(t, "borg-1.4.0", "check-errors.rc", "", "check-errors.txt"))
			},
			wantHome: map[string]any{"offsite_ok": 1},
		},
		{
			name:  "borg-1.4.0-wrong-password",
			zone:  "Europe/Berlin",
			repos: func(t *testing.T) []Repository { return []Repository{borgRepo(t)} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				borgFake(f, "borg-1.4.0")
				f.Set(lsFormat, replay(t, "borg-1.4.0", "list-wrongpw.rc", "list-wrongpw.stdout", "list-wrongpw.stderr"))
				// BORG_EXIT_CODES=modern (1.4): exit 52 with the same message.
				f.Set(info, replay(t, "borg-1.4.0", "list-wrongpw-modern.rc", "", "list-wrongpw-modern.stderr"))
				f.Set("borg check", replay(t, "borg-1.4.0", "list-wrongpw.rc", "", "list-wrongpw.stderr"))
			},
			wantErr: []string{"snapshots: list --json --bypass-lock --format {hostname}{end}: exit status 2: wrong password: passphrase supplied in BORG_PASSPHRASE",
				"stats: info --json --bypass-lock --last 1: exit status 52: wrong password: passphrase supplied in BORG_PASSPHRASE"},
			wantIs:   []error{ErrWrongPass},
			wantHome: map[string]any{"offsite_ok": 0},
		},
		{
			name:  "borg-1.4.0-no-repository",
			zone:  "Europe/Berlin",
			repos: func(t *testing.T) []Repository { return []Repository{borgRepo(t)} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				borgFake(f, "borg-1.4.0")
				f.Set(lsFormat, replay(t, "borg-1.4.0", "list-norepo.rc", "", "list-norepo.stderr"))
			},
			wantErr: []string{"snapshots: list --json --bypass-lock --format {hostname}{end}: exit status 2: repository does not exist: Repository /tmp/h21/nope does not exist."},
			wantIs:  []error{ErrNoRepository},
		},
		{
			name:  "borg-2.0.0b19-refused",
			zone:  "Europe/Berlin",
			repos: func(t *testing.T) []Repository { return []Repository{borgRepo(t)} },
			fake: func(t *testing.T, f *cmdrun.Fake) {
				// Debian's borgbackup-is-borgbackup2 installs borg 2 as borg.
				f.Set("borg --version", file("borg-2.0.0b19", "version.txt"))
				f.Set(lsFormat, replay(t, "borg-2.0.0b19", "list-format.rc", "list-format.json", "list-format.stderr"))
				f.Set(info, replay(t, "borg-2.0.0b19", "info-last1-bypass.rc", "info-last1-bypass.json", "info-last1-bypass.stderr"))
				f.Set("borg check", cmdrun.Reply{})
			},
			wantErr: []string{"repository offsite: snapshots: borg is borg 2.0.0: unsupported tool version: only borg 1.x is supported",
				"repository offsite: stats: borg is borg 2.0.0", "repository offsite: check: borg is borg 2.0.0"},
			wantIs:   []error{ErrUnsupportedVersion},
			wantHome: map[string]any{"offsite_ok": 0, "repositories_ok": 0},
			after: func(t *testing.T, f *cmdrun.Fake) {
				if n := f.Calls(lsFormat) + f.Calls(info) + f.Calls("borg check"); n != 0 {
					t.Errorf("borg 2 ran %d repository commands, want none", n)
				}
			},
		},
	}
}

// TestBorg2Outputs records what borg 2's JSON looks like and what the
// parsers make of it: times with an offset are read as they say; its
// info has no cache.stats, one reason borg 2 is refused before parsing.
func TestBorg2Outputs(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	snaps, err := ParseBorgList(read(t, "testdata/borg-2.0.0b19/repo-list.json"), ny)
	if err != nil || len(snaps) != 2 {
		t.Fatalf("repo-list: %v %v", snaps, err)
	}
	if want := utc(t, "2026-11-22T02:02:52.881615Z"); !snaps[0].Time.Equal(want) || snaps[0].Host != "nas" {
		t.Errorf("first archive %v %s, want %v nas", snaps[0].Time, snaps[0].Host, want)
	}
	if _, err := ParseBorgInfo(read(t, "testdata/borg-2.0.0b19/info-last1.json"), ny); err == nil || !strings.Contains(err.Error(), "no cache.stats.unique_csize") {
		t.Errorf("borg 2 info: %v", err)
	}
	if v, err := ParseVersion(read(t, "testdata/borg-2.0.0b19/version.txt")); err != nil || v != (Version{2, 0, 0}) {
		t.Errorf("borg2 --version: %v %v", v, err)
	}
}

// TestNewerParsers reads the restic 0.16/0.17 and borg 1.4 captures.
func TestNewerParsers(t *testing.T) {
	for p, want := range map[string]Version{"testdata/restic-0.16.5/version.txt": {0, 16, 5},
		"testdata/restic-0.17.3/version.txt": {0, 17, 3}, "testdata/borg-1.4.0/version.txt": {1, 4, 0}} {
		if v, err := ParseVersion(read(t, p)); err != nil || v != want {
			t.Errorf("ParseVersion(%s) = %v %v", p, v, err)
		}
	}
	snaps, err := ParseResticSnapshots(read(t, "testdata/restic-0.16.5/snapshots.json"))
	if err != nil || len(snaps) != 5 || snaps[0].Summary != nil {
		t.Errorf("0.16 snapshots: %v %d", err, len(snaps))
	}
	snaps, err = ParseResticSnapshots(read(t, "testdata/restic-0.17.3/snapshots.json"))
	if err != nil || len(snaps) != 5 || snaps[1].Summary == nil || snaps[1].Summary.Files != 4 || snaps[1].Summary.AddedBytes != 501466 {
		t.Errorf("0.17 snapshots: %v %+v", err, snaps)
	}
	// restic 0.17's check --json still prints text: the reason check uses
	// --json only from 0.18.
	if _, err := ParseResticCheckJSON(read(t, "testdata/restic-0.17.3/check-json.stdout")); err == nil || !strings.Contains(err.Error(), `line 1: not a JSON message: "using temporary cache`) {
		t.Errorf("0.17 check --json: %v", err)
	}
	for _, dir := range []string{"restic-0.16.5", "restic-0.17.3"} {
		// stdout and stderr in one file: two text errors and the Fatal line.
		sum, err := ParseResticRestore(read(t, "testdata/"+dir+"/restore-errors-combined.json"))
		if err != nil || sum.OK() || sum.Errors != 3 || sum.FilesRestored != 2 || sum.TotalFiles != 3 {
			t.Errorf("%s restore errors combined: %+v %v", dir, sum, err)
		}
		sum, err = ParseResticRestore(read(t, "testdata/"+dir+"/restore-errors.json"))
		if err != nil || sum.OK() || sum.Errors != 0 {
			t.Errorf("%s restore errors stdout: %+v %v", dir, sum, err)
		}
		sum, err = ParseResticRestore(read(t, "testdata/"+dir+"/restore.json"))
		if err != nil || !sum.OK() || sum.TotalFiles != 6 {
			t.Errorf("%s restore: %+v %v", dir, sum, err)
		}
		if _, err := ParseResticRestore(read(t, "testdata/"+dir+"/restore-nosnap.stderr")); err == nil || !strings.Contains(err.Error(), "no summary line") {
			t.Errorf("%s restore without summary: %v", dir, err)
		}
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	info, err := ParseBorgInfo(read(t, "testdata/borg-1.4.0/info-last1.json"), berlin)
	if err != nil || info.SizeBytes != 723580 || info.Last.Summary == nil || info.Last.Summary.Files != 4 ||
		!info.Last.Time.Equal(time.Date(2026, 11, 22, 2, 2, 8, 0, time.UTC)) {
		t.Errorf("borg 1.4 info: %+v %v", info, err)
	}
}
