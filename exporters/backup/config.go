// Package backup is hlexporter's backup collector: restic and borg
// repositories (several per instance, each labelled with its location and
// tier), their snapshots per host/paths/tags group, repository size, checks,
// stale locks, the last successful backup run and the last restore test.
//
// Slow commands run only when due on their own per-repository interval,
// whatever the update rate; a failed source drops its values and reports
// success 0 with the time of its last success, so old values never look fresh.
package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

// Config configures the backup collector.
type Config struct {
	// TimeZone reads borg 1.x timestamps, which carry no zone: they are the
	// local time of the host that made the archive. Empty means the
	// exporter's local zone. A repository may override it.
	TimeZone     string       `yaml:"time_zone"`
	Repositories []Repository `yaml:"repositories"`
}

// Repository is one restic or borg repository.
type Repository struct {
	// Name identifies the repository in labels and Homepage keys: [a-z0-9_]+.
	Name string `yaml:"name"`
	// Tool is "restic" or "borg".
	Tool string `yaml:"tool"`
	// Binary is the program to run; default the tool's name.
	Binary string `yaml:"binary"`
	// Repository (or RepositoryFile, a file holding it) locates the
	// repository; it is passed in the environment, never on a shell line,
	// and never appears in labels (URLs may carry credentials).
	Repository     string `yaml:"repository"`
	RepositoryFile string `yaml:"repository_file"`
	// PasswordFile holds the repository password.
	PasswordFile string `yaml:"password_file"`
	// EnvFile holds KEY=VALUE lines added to the tool's environment
	// (cloud credentials, BORG_RSH, ...).
	EnvFile string `yaml:"env_file"`
	// CacheDir is the tool's cache (RESTIC_CACHE_DIR / BORG_CACHE_DIR);
	// without it a remote repository is read without a cache.
	CacheDir string `yaml:"cache_dir"`
	// Location and Tier label the copy (e.g. nas/local, b2/offsite).
	Location string `yaml:"location"`
	Tier     string `yaml:"tier"`
	// Remote overrides the guess from the repository string.
	Remote *bool `yaml:"remote"`
	// Interval between snapshot/stats/locks refreshes: default 1h remote,
	// 15m local. CheckInterval between checks: default 168h remote, 24h
	// local; a negative value disables checks.
	Interval      time.Duration `yaml:"interval"`
	CheckInterval time.Duration `yaml:"check_interval"`
	// CheckArgs are extra arguments to check (e.g. --read-data-subset=1%).
	CheckArgs []string `yaml:"check_args"`
	// Timeout bounds each source that runs the tool (snapshots, stats,
	// locks, check); default 15m. Sources due together run one after
	// another, so one update of the collector may take several timeouts:
	// see Config.UpdateBudget.
	Timeout time.Duration `yaml:"timeout"`
	// TimeZone overrides Config.TimeZone for this (borg) repository.
	TimeZone string `yaml:"time_zone"`
	// LastRun says where the last backup run's result comes from.
	LastRun *Source `yaml:"last_run"`
	// RestoreTest says where the last restore test's result comes from.
	RestoreTest *Source `yaml:"restore_test"`
}

// Source is one place a run's result is read from; exactly one field is set.
type Source struct {
	// Unit is a systemd unit: its last finished run (since boot) and result.
	Unit string `yaml:"unit"`
	// MarkerFile is touched by the unit after a successful run: its mtime
	// is the time of the last success.
	MarkerFile string `yaml:"marker_file"`
	// SummaryFile (restore tests only) holds the output of
	// `restic restore --json`; its mtime is the test's time and its summary
	// line says whether every file was restored.
	SummaryFile string `yaml:"summary_file"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// Validate checks the configuration and reports every bad field, each a
// *yamlnode.FieldError named by its key path (repositories[0].tool).
func (c Config) Validate() error {
	var errs []error
	if _, err := loadZone(c.TimeZone); err != nil {
		errs = append(errs, yamlnode.FieldErrorf("time_zone", "%v", err))
	}
	if len(c.Repositories) == 0 {
		errs = append(errs, yamlnode.FieldErrorf("repositories", "at least one repository is needed"))
	}
	first := map[string]int{}
	for i, r := range c.Repositories {
		at := fmt.Sprintf("repositories[%d]", i)
		errs = append(errs, r.validate(at)...)
		if j, seen := first[r.Name]; seen {
			errs = append(errs, yamlnode.FieldErrorf(at+".name", "%q is used twice (also repositories[%d])", r.Name, j))
		} else {
			first[r.Name] = i
		}
	}
	return errors.Join(errs...)
}

func (r Repository) validate(at string) []error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, yamlnode.FieldErrorf(at+"."+field, format, a...))
	}
	if !nameRE.MatchString(r.Name) {
		bad("name", "%q must match [a-z0-9_]+", r.Name)
	}
	switch r.Tool {
	case "restic", "borg":
	case "":
		bad("tool", "missing (restic or borg)")
	default:
		bad("tool", "%q is not supported (restic or borg)", r.Tool)
	}
	switch {
	case r.Repository == "" && r.RepositoryFile == "":
		bad("repository", "missing (set repository or repository_file)")
	case r.Repository != "" && r.RepositoryFile != "":
		bad("repository_file", "set exactly one of repository and repository_file")
	}
	if r.PasswordFile == "" {
		bad("password_file", "missing")
	}
	for _, p := range []struct{ field, v string }{
		{"repository_file", r.RepositoryFile}, {"password_file", r.PasswordFile}, {"env_file", r.EnvFile}, {"cache_dir", r.CacheDir},
	} {
		if p.v != "" && !filepath.IsAbs(p.v) {
			bad(p.field, "%q is not an absolute path", p.v)
		}
	}
	if r.Location == "" {
		bad("location", "missing (e.g. nas, b2)")
	}
	if r.Tier == "" {
		bad("tier", "missing (e.g. local, offsite)")
	}
	if r.Interval < 0 {
		bad("interval", "%s is negative", r.Interval)
	}
	if r.Interval > 0 && r.Interval < time.Minute {
		bad("interval", "%s is below 1m", r.Interval)
	}
	if r.CheckInterval > 0 && r.CheckInterval < time.Hour {
		bad("check_interval", "%s is below 1h", r.CheckInterval)
	}
	if r.Timeout < 0 {
		bad("timeout", "%s is negative", r.Timeout)
	}
	if _, err := loadZone(r.TimeZone); err != nil {
		bad("time_zone", "%v", err)
	}
	if r.TimeZone != "" && r.Tool == "restic" {
		bad("time_zone", "only borg timestamps need a zone; restic's carry one")
	}
	if r.LastRun != nil {
		errs = append(errs, r.LastRun.validate(at+".last_run", false)...)
	}
	if r.RestoreTest != nil {
		errs = append(errs, r.RestoreTest.validate(at+".restore_test", true)...)
	}
	return errs
}

func (s Source) validate(at string, summaryOK bool) []error {
	n := 0
	for _, v := range []string{s.Unit, s.MarkerFile, s.SummaryFile} {
		if v != "" {
			n++
		}
	}
	var errs []error
	if s.SummaryFile != "" && !summaryOK {
		errs = append(errs, yamlnode.FieldErrorf(at+".summary_file", "only restore_test has a summary file"))
	}
	if n != 1 {
		errs = append(errs, yamlnode.FieldErrorf(at, "set exactly one of unit, marker_file%s", map[bool]string{true: ", summary_file", false: ""}[summaryOK]))
	}
	for _, p := range []struct{ field, v string }{{"marker_file", s.MarkerFile}, {"summary_file", s.SummaryFile}} {
		if p.v != "" && !filepath.IsAbs(p.v) {
			errs = append(errs, yamlnode.FieldErrorf(at+"."+p.field, "%q is not an absolute path", p.v))
		}
	}
	if s.Unit != "" && strings.ContainsAny(s.Unit, " /") {
		errs = append(errs, yamlnode.FieldErrorf(at+".unit", "%q is not a unit name", s.Unit))
	}
	return errs
}

func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// resticRemote are the restic backends that are not the local disk.
var resticRemote = []string{"sftp:", "rest:", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:"}

// isRemote guesses whether a repository string is remote: restic backend
// prefixes; borg ssh:// URLs and user@host:path.
func isRemote(tool, repo string) bool {
	repo = strings.TrimSpace(repo)
	if tool == "restic" {
		for _, p := range resticRemote {
			if strings.HasPrefix(repo, p) {
				return true
			}
		}
		return false
	}
	if strings.HasPrefix(repo, "ssh://") {
		return true
	}
	if strings.HasPrefix(repo, "/") || strings.HasPrefix(repo, "file://") {
		return false
	}
	host, _, ok := strings.Cut(repo, ":")
	return ok && !strings.Contains(host, "/")
}

// settings are a repository's resolved options.
type settings struct {
	Repository
	remote        bool
	interval      time.Duration
	checkInterval time.Duration // <= 0: no checks
	zone          *time.Location
}

// resolve settles the options of r, the repository at the key path at
// (repositories[0]); a problem is a *yamlnode.FieldError.
func resolve(c Config, at string, r Repository) (settings, error) {
	s := settings{Repository: r}
	repo := r.Repository
	if r.RepositoryFile != "" {
		b, err := os.ReadFile(r.RepositoryFile)
		if err != nil && r.Remote == nil {
			return s, yamlnode.FieldErrorf(at+".repository_file", "%v (it tells whether the repository is remote; set remote: to skip reading it here)", err)
		}
		repo = string(b)
	}
	s.remote = isRemote(r.Tool, repo)
	if r.Remote != nil {
		s.remote = *r.Remote
	}
	if s.Binary == "" {
		s.Binary = r.Tool
	}
	s.interval = r.Interval
	if s.interval == 0 {
		s.interval = 15 * time.Minute
		if s.remote {
			s.interval = time.Hour
		}
	}
	s.checkInterval = r.CheckInterval
	if s.checkInterval == 0 {
		s.checkInterval = 24 * time.Hour
		if s.remote {
			s.checkInterval = 7 * 24 * time.Hour
		}
	}
	s.Timeout = r.timeout()
	zone := r.TimeZone
	if zone == "" {
		zone = c.TimeZone
	}
	var err error
	if s.zone, err = loadZone(zone); err != nil {
		return s, yamlnode.FieldErrorf(at+".time_zone", "%v", err) // Validate checks both zones first
	}
	return s, nil
}

// DefaultTimeout bounds a tool source when Repository.Timeout is not set.
const DefaultTimeout = 15 * time.Minute

// LocalTimeout bounds a source that reads local state (last_run,
// restore_test: systemctl show, a marker or summary file).
const LocalTimeout = time.Minute

// toolSources names the sources of r that run the tool, in refresh order.
func (r Repository) toolSources() []string {
	out := []string{srcSnapshots, srcStats}
	if r.Tool == "restic" {
		out = append(out, srcLocks)
	}
	if r.CheckInterval >= 0 {
		out = append(out, srcCheck)
	}
	return out
}

// localSources names the sources of r that read local state.
func (r Repository) localSources() []string {
	var out []string
	if r.LastRun != nil {
		out = append(out, srcLastRun)
	}
	if r.RestoreTest != nil {
		out = append(out, srcRestoreTest)
	}
	return out
}

func (r Repository) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// budget is the longest one update can spend on r: every source due at
// once (as on the first update), one after another, each to its timeout.
func (r Repository) budget() time.Duration {
	return time.Duration(len(r.toolSources()))*r.timeout() + time.Duration(len(r.localSources()))*LocalTimeout
}

// UpdateBudget is the longest one update of the collector can take:
// repositories are read in parallel, so it is the budget of the slowest
// one. The serving layer's update_timeout must be at least this, or a
// slow but healthy repository would be cut short by the update's deadline
// rather than by its own timeout.
func (c Config) UpdateBudget() time.Duration {
	var max time.Duration
	for _, r := range c.Repositories {
		max = maxDuration(max, r.budget())
	}
	return max
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// CheckUpdateTimeout reports, naming the repository and its fields, when
// updateTimeout (the serving layer's bound on one update, the section's
// update_timeout) is shorter than UpdateBudget: a *yamlnode.FieldError
// about update_timeout per repository that does not fit.
func (c Config) CheckUpdateTimeout(updateTimeout time.Duration) error {
	var errs []error
	for i, r := range c.Repositories {
		b := r.budget()
		if b <= updateTimeout {
			continue
		}
		tool, local := r.toolSources(), r.localSources()
		msg := fmt.Sprintf("%s is shorter than one update of repository %q can take: %d tool sources (%s) one after another under timeout %s each",
			updateTimeout, r.Name, len(tool), strings.Join(tool, ", "), r.timeout())
		if len(local) > 0 {
			msg += fmt.Sprintf(", plus %d local %s (%s) under %s each", len(local), map[bool]string{true: "source", false: "sources"}[len(local) == 1], strings.Join(local, ", "), LocalTimeout)
		}
		errs = append(errs, yamlnode.FieldErrorf("update_timeout", "%s = %s; raise update_timeout to at least %s or lower repositories[%d].timeout", msg, b, b, i))
	}
	return errors.Join(errs...)
}
