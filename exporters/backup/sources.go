package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/systemd"
)

// Causes a ToolError may carry; test with errors.Is.
var (
	ErrLocked       = errors.New("repository is locked")
	ErrWrongPass    = errors.New("wrong password")
	ErrNoRepository = errors.New("repository does not exist")
	// ErrUnsupportedVersion: the tool is a version the collector cannot
	// read (borg 2, whose commands and JSON differ from borg 1.x).
	ErrUnsupportedVersion = errors.New("unsupported tool version")
)

// ToolError is a restic or borg command that exited non-zero, with the
// tool's own message and, when recognised, its cause.
type ToolError struct {
	Cause   error // ErrLocked, ErrWrongPass, ErrNoRepository or nil
	Message string
	Exit    *cmdrun.ExitError
}

func (e *ToolError) Error() string {
	cmd := strings.Join(e.Exit.Argv[min(1, len(e.Exit.Argv)):], " ")
	if e.Cause != nil {
		return fmt.Sprintf("%s: exit status %d: %v: %s", cmd, e.Exit.Code, e.Cause, e.Message)
	}
	return fmt.Sprintf("%s: exit status %d: %s", cmd, e.Exit.Code, e.Message)
}

func (e *ToolError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Exit, e.Cause}
	}
	return []error{e.Exit}
}

// explain turns an *cmdrun.ExitError into a ToolError; other errors
// (tool missing, timeout, permission) pass through.
func explain(tool string, err error) error {
	var ee *cmdrun.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	stderr := string(ee.Stderr)
	msg := toolMessage(stderr)
	var cause error
	if tool == "restic" {
		switch ee.Code { // restic >= 0.17 exit codes
		case 10:
			cause = ErrNoRepository
		case 11:
			cause = ErrLocked
		case 12:
			cause = ErrWrongPass
		}
	}
	if cause == nil {
		switch {
		case strings.Contains(stderr, "already locked"), strings.Contains(stderr, "Failed to create/acquire the lock"):
			cause = ErrLocked
		case strings.Contains(stderr, "wrong password"), strings.Contains(stderr, "passphrase supplied in") && strings.Contains(stderr, "incorrect"):
			cause = ErrWrongPass
		case strings.Contains(stderr, "Is there a repository at the following location?"), strings.Contains(stderr, "does not exist."):
			cause = ErrNoRepository
		}
	}
	return &ToolError{Cause: cause, Message: msg, Exit: ee}
}

// toolMessage picks the message out of a tool's stderr: the message of a
// restic JSON exit_error, else the first non-empty line.
func toolMessage(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "{") {
			var m struct {
				Type    string `json:"message_type"`
				Message string `json:"message"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && m.Type == "exit_error" {
				first, _, _ := strings.Cut(strings.TrimSpace(m.Message), "\n")
				return trunc200(first)
			}
		}
	}
	for _, line := range strings.Split(stderr, "\n") {
		if line = strings.TrimSpace(line); line != "" && !progressLine(line) {
			return trunc200(line)
		}
	}
	return "(no message)"
}

// progressLine reports restic's progress lines on stderr, which come
// before the message that says what went wrong.
func progressLine(line string) bool {
	return strings.HasPrefix(line, "using temporary cache") ||
		line == "create exclusive lock for repository" ||
		strings.HasPrefix(line, "repo already locked, waiting up to") // restic >= 0.17
}

func trunc200(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func (c *collector) run(ctx context.Context, r *repo, args ...string) ([]byte, error) {
	if r.s.Tool == "borg" {
		if err := c.borgSupported(ctx, r); err != nil {
			return nil, err
		}
	}
	env, err := r.s.environment()
	if err != nil {
		return nil, err
	}
	argv := append([]string{r.s.Binary}, args...)
	out, err := c.deps.Runner.Run(ctx, argv, env)
	if err != nil {
		return out, explain(r.s.Tool, err)
	}
	return out, nil
}

type groupID struct{ host, paths, tags, archive string }

type group struct {
	groupID
	count  int
	newest Snapshot
}

func groupKey(s Snapshot) groupID {
	paths := append([]string(nil), s.Paths...)
	tags := append([]string(nil), s.Tags...)
	sort.Strings(paths)
	sort.Strings(tags)
	return groupID{host: s.Host, paths: strings.Join(paths, ","), tags: strings.Join(tags, ","), archive: s.Archive}
}

func (g groupID) labels(r *repo) []string {
	return append(append([]string(nil), r.labels...), g.host, g.paths, g.tags, g.archive)
}

// borgMajor is the borg major version the collector reads: borg 2 renamed
// `list` to `repo-list`, dropped --bypass-lock and changed the JSON.
const borgMajor = 1

// toolVersion returns the tool's version, probed once (`restic version`,
// `borg --version`).
func (c *collector) toolVersion(ctx context.Context, r *repo) (Version, error) {
	if r.version != nil {
		return *r.version, nil
	}
	arg := "version"
	if r.s.Tool == "borg" {
		arg = "--version"
	}
	out, err := c.deps.Runner.Run(ctx, []string{r.s.Binary, arg}, nil)
	if err != nil {
		return Version{}, fmt.Errorf("%s %s: %w", r.s.Tool, arg, err)
	}
	v, err := ParseVersion(out)
	if err != nil {
		return Version{}, err
	}
	r.version = &v
	return v, nil
}

// borgSupported refuses a borg other than 1.x before any repository
// command of it runs (run calls it), so borg 2's usage errors never pass
// for repository errors.
func (c *collector) borgSupported(ctx context.Context, r *repo) error {
	v, err := c.toolVersion(ctx, r)
	if err != nil {
		return err
	}
	if v[0] != borgMajor {
		return fmt.Errorf("%s is borg %d.%d.%d: %w: only borg 1.x is supported (borg 2 has repo-list instead of list and no --bypass-lock); set binary to a borg 1.x",
			r.s.Binary, v[0], v[1], v[2], ErrUnsupportedVersion)
	}
	return nil
}

func (c *collector) refreshSnapshots(ctx context.Context, r *repo, m *serve.Metrics) error {
	var snaps []Snapshot
	if r.s.Tool == "restic" {
		out, err := c.run(ctx, r, "snapshots", "--json", "--no-lock")
		if err != nil {
			return err
		}
		if snaps, err = ParseResticSnapshots(out); err != nil {
			return err
		}
	} else {
		out, err := c.run(ctx, r, "list", "--json", "--bypass-lock", "--format", "{hostname}{end}")
		if err != nil {
			return err
		}
		if snaps, err = ParseBorgList(out, r.s.zone); err != nil {
			return err
		}
	}
	groups := map[groupID]*group{}
	var keys []groupID
	var newest time.Time
	for _, s := range snaps {
		k := groupKey(s)
		g, ok := groups[k]
		if !ok {
			g = &group{groupID: k}
			groups[k] = g
			keys = append(keys, k)
		}
		g.count++
		if g.count == 1 || s.Time.After(g.newest.Time) {
			g.newest = s
		}
		if s.Time.After(newest) {
			newest = s.Time
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.host+"\x00"+a.paths+"\x00"+a.tags+"\x00"+a.archive < b.host+"\x00"+b.paths+"\x00"+b.tags+"\x00"+b.archive
	})
	for _, k := range keys {
		g := groups[k]
		lv := g.labels(r)
		m.Add(mSnapshots, float64(g.count), lv...)
		m.Add(mLastSnapshot, unix(g.newest.Time), lv...)
		if s := g.newest.Summary; s != nil {
			addSummary(m, s, lv)
		}
	}
	m.Add(mRepoSnapshots, float64(len(snaps)), r.labels...)
	r.newestSnapshot = newest
	r.snapshotsKnown = true
	return nil
}

func addSummary(m *serve.Metrics, s *Summary, lv []string) {
	m.Add(mLastFiles, s.Files, lv...)
	m.Add(mLastAdded, s.AddedBytes, lv...)
	m.Add(mLastProcessed, s.Bytes, lv...)
	m.Add(mLastDuration, s.Duration, lv...)
}

func (c *collector) refreshStats(ctx context.Context, r *repo, m *serve.Metrics) error {
	if r.s.Tool == "restic" {
		out, err := c.run(ctx, r, "stats", "--json", "--mode", "raw-data", "--no-lock")
		if err != nil {
			return err
		}
		st, err := ParseResticStats(out)
		if err != nil {
			return err
		}
		m.Add(mRepoSize, st.SizeBytes, r.labels...)
		return nil
	}
	out, err := c.run(ctx, r, "info", "--json", "--bypass-lock", "--last", "1")
	if err != nil {
		return err
	}
	info, err := ParseBorgInfo(out, r.s.zone)
	if err != nil {
		return err
	}
	m.Add(mRepoSize, info.SizeBytes, r.labels...)
	if info.Last.Summary != nil {
		// Only the newest archive's run is known; other groups get no summary.
		addSummary(m, info.Last.Summary, groupKey(info.Last).labels(r))
	}
	return nil
}

// maxLocks bounds the `restic cat lock` calls of one refresh.
const maxLocks = 20

func (c *collector) refreshLocks(ctx context.Context, r *repo, m *serve.Metrics) error {
	out, err := c.run(ctx, r, "list", "locks", "--no-lock")
	if err != nil {
		return err
	}
	ids, err := ParseResticLockIDs(out)
	if err != nil {
		return err
	}
	var oldest time.Time
	exclusive := 0
	for i, id := range ids {
		if i == maxLocks {
			r.log.Warn("too many locks; reading the first ones only", "locks", len(ids), "read", maxLocks)
			break
		}
		b, err := c.run(ctx, r, "cat", "lock", id, "--no-lock")
		if err != nil {
			// The lock may have been released since it was listed.
			r.log.Debug("lock unreadable", "lock", id, "err", err)
			continue
		}
		l, err := ParseResticLock(b)
		if err != nil {
			return fmt.Errorf("lock %s: %w", id[:8], err)
		}
		if l.Exclusive {
			exclusive++
		}
		if oldest.IsZero() || l.Time.Before(oldest) {
			oldest = l.Time
		}
	}
	m.Add(mLocks, float64(len(ids)), r.labels...)
	m.Add(mExclusiveLocks, float64(exclusive), r.labels...)
	if !oldest.IsZero() {
		m.Add(mOldestLock, unix(oldest), r.labels...)
	}
	return nil
}

// resticJSONCheck is the first restic version whose check speaks JSON.
var resticJSONCheck = Version{0, 18, 0}

func (c *collector) refreshCheck(ctx context.Context, r *repo, m *serve.Metrics) error {
	args := []string{"check"}
	jsonOut := false
	if r.s.Tool == "restic" {
		v, err := c.toolVersion(ctx, r)
		if err != nil {
			return err
		}
		if v.AtLeast(resticJSONCheck) {
			args = append(args, "--json")
			jsonOut = true
		}
	}
	args = append(args, r.s.CheckArgs...)
	out, err := c.run(ctx, r, args...)
	res, err := checkResult(r.s.Tool, jsonOut, out, err)
	if err != nil {
		return err
	}
	finished := c.deps.Now()
	m.Add(mCheckSuccess, b2f(res.OK), r.labels...)
	if res.Errors >= 0 {
		m.Add(mCheckErrors, res.Errors, r.labels...)
	}
	m.Add(mCheckTime, unix(finished), r.labels...)
	if res.OK {
		r.lastGoodCheck = finished
	}
	return nil
}

// checkResult tells a check that ran and found errors (a result) from one
// that could not run (an error: locked, wrong password, unreachable).
func checkResult(tool string, jsonOut bool, out []byte, err error) (CheckResult, error) {
	var te *ToolError
	if err != nil && !errors.As(err, &te) {
		return CheckResult{}, err
	}
	if te != nil && te.Cause != nil {
		return CheckResult{}, err
	}
	switch {
	case tool == "borg":
		if te == nil {
			return CheckResult{OK: true, Errors: -1}, nil
		}
		if te.Exit.Code == 1 { // borg: warning, the check found problems
			return CheckResult{OK: false, Errors: -1}, nil
		}
		return CheckResult{}, err
	case jsonOut:
		if te != nil && te.Exit.Code != 1 {
			return CheckResult{}, err
		}
		res, perr := ParseResticCheckJSON(out)
		if perr != nil {
			if te != nil {
				return CheckResult{}, err
			}
			return CheckResult{}, perr
		}
		if te != nil && res.OK {
			return CheckResult{}, fmt.Errorf("restic check: exit 1 with a clean summary: %w", err)
		}
		return res, nil
	default: // restic < 0.18: exit status and text
		if te == nil {
			return CheckResult{OK: true, Errors: -1}, nil
		}
		if te.Exit.Code == 1 && strings.Contains(string(te.Exit.Stderr), "repository contains errors") {
			return CheckResult{OK: false, Errors: -1}, nil
		}
		return CheckResult{}, err
	}
}

func (c *collector) refreshRun(ctx context.Context, r *repo, m *serve.Metrics) error {
	done, ok, err := c.readSource(ctx, *r.s.LastRun)
	if err != nil {
		return err
	}
	if r.s.LastRun.Unit != "" && !done.IsZero() {
		m.Add(mRunTime, unix(done), r.labels...)
		m.Add(mRunSuccess, b2f(ok), r.labels...)
	}
	if ok && done.After(r.lastGoodRun) {
		r.lastGoodRun = done
	}
	return nil
}

func (c *collector) refreshRestore(ctx context.Context, r *repo, m *serve.Metrics) error {
	src := *r.s.RestoreTest
	if src.SummaryFile != "" {
		fi, err := c.deps.Stat(src.SummaryFile)
		if err != nil {
			return fmt.Errorf("restore summary: %w", err)
		}
		b, err := c.deps.ReadFile(src.SummaryFile)
		if err != nil {
			return fmt.Errorf("restore summary: %w", err)
		}
		sum, err := ParseResticRestore(b)
		if err != nil {
			return fmt.Errorf("restore summary %s: %w", src.SummaryFile, err)
		}
		t := fi.ModTime()
		m.Add(mRestoreTime, unix(t), r.labels...)
		m.Add(mRestoreSuccess, b2f(sum.OK()), r.labels...)
		m.Add(mRestoreFiles, sum.FilesRestored+sum.FilesSkipped, r.labels...)
		m.Add(mRestoreBytes, sum.BytesRestored+sum.BytesSkipped, r.labels...)
		r.lastRestoreTest = t
		if sum.OK() && t.After(r.lastGoodRestore) {
			r.lastGoodRestore = t
		}
		return nil
	}
	done, ok, err := c.readSource(ctx, src)
	if err != nil {
		return err
	}
	if src.Unit != "" && !done.IsZero() {
		m.Add(mRestoreTime, unix(done), r.labels...)
		m.Add(mRestoreSuccess, b2f(ok), r.labels...)
		r.lastRestoreTest = done
	}
	if ok && done.After(r.lastGoodRestore) {
		r.lastGoodRestore = done
	}
	return nil
}

// readSource reads a unit's last finished run or a marker's mtime. It
// returns the time (zero: unit never ran since boot) and whether it
// succeeded. A missing marker file is an error: no success is recorded.
func (c *collector) readSource(ctx context.Context, s Source) (time.Time, bool, error) {
	if s.MarkerFile != "" {
		fi, err := c.deps.Stat(s.MarkerFile)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("marker file: %w", err)
		}
		return fi.ModTime(), true, nil
	}
	st, err := systemd.Show(ctx, c.deps.Runner, c.deps.Systemctl, s.Unit)
	if err != nil {
		return time.Time{}, false, err
	}
	return st.Exited, st.Succeeded(), nil
}

// remembered adds what is known since start-up whatever the sources' state:
// timestamps of past successes stay true, and their age shows.
func (r *repo) remembered(m *serve.Metrics) {
	for _, x := range []struct {
		def *serve.MetricDef
		t   time.Time
	}{{mCheckGood, r.lastGoodCheck}, {mRunGood, r.lastGoodRun}, {mRestoreGood, r.lastGoodRestore}} {
		if !x.t.IsZero() {
			m.Add(x.def, unix(x.t), r.labels...)
		}
	}
}

// lastBackup is the newest evidence of a backup: a snapshot or a
// successful run (restic --skip-if-unchanged makes no snapshot).
func (r *repo) lastBackup() time.Time {
	t := r.newestSnapshot
	if r.lastGoodRun.After(t) {
		t = r.lastGoodRun
	}
	return t
}

func (r *repo) ok() bool {
	for _, s := range r.sources {
		if s.err != nil || !s.attempted {
			return false
		}
	}
	return true
}

func (r *repo) homepage(hp map[string]any, now time.Time) {
	n := r.s.Name
	hp[n+"_ok"] = b2i(r.ok())
	if t := r.lastBackup(); !t.IsZero() {
		hp[n+"_last_backup"] = t.UTC()
		hp[n+"_backup_age_hours"] = round1(now.Sub(t).Hours())
	}
	if r.s.RestoreTest != nil && !r.lastGoodRestore.IsZero() {
		hp[n+"_restore_test_age_days"] = round1(now.Sub(r.lastGoodRestore).Hours() / 24)
	}
}

// summarize adds instance-wide fields: the worst repository decides.
func summarize(hp map[string]any, repos []*repo, now time.Time) {
	okCount := 0
	var oldest time.Time
	backupKnown := true
	restoreAge := -1.0
	for _, r := range repos {
		if r.ok() {
			okCount++
		}
		t := r.lastBackup()
		if t.IsZero() {
			backupKnown = false
		} else if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
		if r.s.RestoreTest != nil {
			age := 1e9 // never: larger than any real age
			if !r.lastGoodRestore.IsZero() {
				age = now.Sub(r.lastGoodRestore).Hours() / 24
			}
			if age > restoreAge {
				restoreAge = age
			}
		}
	}
	hp["repositories"] = len(repos)
	hp["repositories_ok"] = okCount
	if backupKnown && !oldest.IsZero() {
		hp["backup_last_backup"] = oldest.UTC()
		hp["backup_age_hours"] = round1(now.Sub(oldest).Hours())
	}
	if restoreAge >= 0 && restoreAge < 1e9 {
		hp["restore_test_age_days"] = round1(restoreAge)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
