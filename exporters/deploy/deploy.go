package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/systemd"
)

// Components compared between the running and the booted system; any
// difference means the new system is only complete after a reboot.
var Components = []string{"kernel", "initrd", "kernel-modules"}

// UnitResults are systemd's Result values, the states of upgrade_result.
var UnitResults = []string{
	"success", "protocol", "timeout", "exit-code", "signal", "core-dump",
	"watchdog", "start-limit-hit", "resources", "oom-kill",
}

var (
	mGeneration = serve.NewMetricDef("hlexporter_deploy_generation",
		"Number of the system profile's current generation.", serve.Gauge)
	mGenerationTime = serve.NewMetricDef("hlexporter_deploy_generation_timestamp_seconds",
		"Creation time of the current system generation (mtime of its profile link).", serve.Gauge)
	mGenerations = serve.NewMetricDef("hlexporter_deploy_generations",
		"Number of system generations in the profile.", serve.Gauge)
	mSwitchPending = serve.NewMetricDef("hlexporter_deploy_switch_pending",
		"1 if the system profile points to a different system than the running one (built with nixos-rebuild boot, not activated).", serve.Gauge)
	mRebootComponent = serve.NewMetricDef("hlexporter_deploy_reboot_pending",
		"1 if the running system's component differs from the booted system's.", serve.Gauge, "component")
	mRebootRequired = serve.NewMetricDef("hlexporter_deploy_reboot_required",
		"1 if kernel, initrd or kernel modules of the running system differ from the booted one.", serve.Gauge)
	mInfo = serve.NewMetricDef("hlexporter_deploy_nixos_info",
		"NixOS version of the running system (nixos-version --json); revisions are empty when unknown.", serve.Info,
		"nixos_version", "nixpkgs_revision", "configuration_revision")
	mUpgradeResult = serve.NewMetricDef("hlexporter_deploy_upgrade_result",
		"Result of the upgrade unit's last finished run since boot (systemd Result), one series per result.", serve.StateSet,
		"unit", "result")
	mUpgradeStatus = serve.NewMetricDef("hlexporter_deploy_upgrade_exit_status",
		"Exit status of the upgrade unit's last finished run since boot.", serve.Gauge, "unit")
	mUpgradeFinish = serve.NewMetricDef("hlexporter_deploy_upgrade_last_finish_timestamp_seconds",
		"When the upgrade unit's last run since boot finished.", serve.Gauge, "unit")
	mUpgradeRunning = serve.NewMetricDef("hlexporter_deploy_upgrade_running",
		"1 while the upgrade unit is running.", serve.Gauge, "unit")
)

// Metrics lists every metric the deploy collector can emit, for the
// catalog; it needs no configuration.
func Metrics() []*serve.MetricDef { return slices.Clone(defs) }

var defs = []*serve.MetricDef{
	mGeneration, mGenerationTime, mGenerations, mSwitchPending, mRebootComponent,
	mRebootRequired, mInfo, mUpgradeResult, mUpgradeStatus, mUpgradeFinish, mUpgradeRunning,
}

type collector struct {
	cfg Config
	run cmdrun.Runner
	fs  FS
	now func() time.Time
	log *slog.Logger
}

// New returns the deploy collector. fsys nil means OSFS; now nil means
// time.Now; log nil discards.
func New(cfg Config, run cmdrun.Runner, fsys FS, now func() time.Time, log *slog.Logger) (serve.Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if run == nil {
		return nil, errors.New("deploy: nil runner")
	}
	if fsys == nil {
		fsys = OSFS{}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &collector{cfg: cfg.Defaults(), run: run, fs: fsys, now: now, log: log}, nil
}

func (c *collector) Name() string                 { return "deploy" }
func (c *collector) Describe() []*serve.MetricDef { return defs }

// Update reads the profile tree, compares the systems and runs the two
// commands. Each part fails on its own: the others are still reported and
// the errors are joined.
func (c *collector) Update(ctx context.Context) (serve.Result, error) {
	var m serve.Metrics
	hp := map[string]any{}
	var errs []error

	if g, err := c.generations(); err != nil {
		errs = append(errs, err)
	} else {
		m.Add(mGeneration, float64(g.current))
		m.Add(mGenerationTime, unixSeconds(g.created))
		m.Add(mGenerations, float64(g.count))
		hp["deploy_generation"] = g.current
		hp["deploy_generations"] = g.count
		hp["deploy_time"] = g.created
		hp["deploy_age_hours"] = round1(c.now().Sub(g.created).Hours())
		if pending, err := c.switchPending(); err != nil {
			errs = append(errs, err)
		} else {
			m.Add(mSwitchPending, b2f(pending))
			hp["switch_pending"] = b2i(pending)
		}
	}

	if diff, err := c.rebootPending(); err != nil {
		errs = append(errs, err)
	} else {
		anyPending := false
		for _, comp := range Components {
			d, ok := diff[comp]
			if !ok {
				continue
			}
			m.Add(mRebootComponent, b2f(d), comp)
			anyPending = anyPending || d
		}
		m.Add(mRebootRequired, b2f(anyPending))
		hp["reboot_pending"] = b2i(anyPending)
	}

	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if v, err := c.nixosVersion(ctx); err != nil {
		errs = append(errs, err)
	} else {
		m.Add(mInfo, 1, v.NixosVersion, v.NixpkgsRevision, v.ConfigurationRevision)
		hp["nixos_version"] = v.NixosVersion
		if v.ConfigurationRevision != "" {
			hp["configuration_revision"] = v.ConfigurationRevision
		}
	}

	if c.cfg.UpgradeUnit != "" {
		st, err := systemd.Show(ctx, c.run, c.cfg.Systemctl, c.cfg.UpgradeUnit)
		if err != nil {
			errs = append(errs, err)
		} else {
			u := c.cfg.UpgradeUnit
			m.Add(mUpgradeRunning, b2f(st.ActiveState == "activating" || st.ActiveState == "reloading"), u)
			if st.Ran() {
				states := UnitResults
				if !contains(states, st.Result) {
					states = append(append([]string(nil), UnitResults...), st.Result)
				}
				m.StateSet(mUpgradeResult, states, st.Result, u)
				m.Add(mUpgradeStatus, float64(st.ExecMainStatus), u)
				m.Add(mUpgradeFinish, unixSeconds(st.Exited), u)
				hp["upgrade_result"] = st.Result
				hp["upgrade_ok"] = b2i(st.Succeeded())
				hp["upgrade_finished"] = st.Exited
			}
		}
	}

	list, err := m.List()
	if err != nil {
		errs = append(errs, err)
	}
	return serve.Result{Metrics: list, Homepage: hp}, errors.Join(errs...)
}

type generationInfo struct {
	current int
	count   int
	created time.Time
}

var genLink = regexp.MustCompile(`^system-([0-9]+)-link$`)

// generations reads <profiles>/system -> system-N-link and counts the
// system-*-link entries. Creation time is the generation link's own mtime
// (Lstat): Nix creates the link when it adds the generation, while the
// store path's mtime is always 1970.
func (c *collector) generations() (generationInfo, error) {
	dir := c.cfg.ProfilesDir
	target, err := c.fs.Readlink(filepath.Join(dir, "system"))
	if err != nil {
		return generationInfo{}, fmt.Errorf("system profile: %w", err)
	}
	name := filepath.Base(target)
	sm := genLink.FindStringSubmatch(name)
	if sm == nil {
		return generationInfo{}, fmt.Errorf("system profile %s points to %q, not system-<N>-link", filepath.Join(dir, "system"), target)
	}
	cur, err := strconv.Atoi(sm[1])
	if err != nil {
		return generationInfo{}, fmt.Errorf("system profile generation %q: %w", sm[1], err)
	}
	fi, err := c.fs.Lstat(filepath.Join(dir, name))
	if err != nil {
		return generationInfo{}, fmt.Errorf("current generation: %w", err)
	}
	entries, err := c.fs.ReadDir(dir)
	if err != nil {
		return generationInfo{}, fmt.Errorf("profiles: %w", err)
	}
	n := 0
	for _, e := range entries {
		if genLink.MatchString(e.Name()) {
			n++
		}
	}
	return generationInfo{current: cur, count: n, created: fi.ModTime().UTC()}, nil
}

func (c *collector) switchPending() (bool, error) {
	profile, err := c.fs.EvalSymlinks(filepath.Join(c.cfg.ProfilesDir, "system"))
	if err != nil {
		return false, fmt.Errorf("system profile: %w", err)
	}
	current, err := c.fs.EvalSymlinks(c.cfg.CurrentSystem)
	if err != nil {
		return false, fmt.Errorf("current system: %w", err)
	}
	return profile != current, nil
}

// rebootPending compares kernel, initrd and kernel-modules of the running
// and the booted system by their resolved store paths. A component absent
// from both (containers have no kernel) is left out.
func (c *collector) rebootPending() (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range []string{c.cfg.CurrentSystem, c.cfg.BootedSystem} {
		if _, err := c.fs.Lstat(p); err != nil {
			return nil, fmt.Errorf("reboot check: %w", err)
		}
	}
	for _, comp := range Components {
		cur, errC := c.fs.EvalSymlinks(filepath.Join(c.cfg.CurrentSystem, comp))
		boot, errB := c.fs.EvalSymlinks(filepath.Join(c.cfg.BootedSystem, comp))
		missC, missB := errors.Is(errC, fs.ErrNotExist), errors.Is(errB, fs.ErrNotExist)
		switch {
		case missC && missB:
			continue
		case errC != nil && !missC:
			return nil, fmt.Errorf("reboot check: current %s: %w", comp, errC)
		case errB != nil && !missB:
			return nil, fmt.Errorf("reboot check: booted %s: %w", comp, errB)
		}
		out[comp] = missC != missB || cur != boot
	}
	return out, nil
}

// Version is nixos-version --json.
type Version struct {
	NixosVersion          string `json:"nixosVersion"`
	NixpkgsRevision       string `json:"nixpkgsRevision"`
	ConfigurationRevision string `json:"configurationRevision"`
}

func (c *collector) nixosVersion(ctx context.Context) (Version, error) {
	out, err := c.run.Run(ctx, c.cfg.NixosVersion, nil)
	if err != nil {
		return Version{}, fmt.Errorf("nixos-version: %w", err)
	}
	v, err := ParseVersion(out)
	if err != nil {
		return Version{}, fmt.Errorf("nixos-version: %w", err)
	}
	return v, nil
}

// ParseVersion reads nixos-version --json. nixosVersion is required;
// the revisions are present only when known. Other keys are ignored.
func ParseVersion(b []byte) (Version, error) {
	var v Version
	if err := json.Unmarshal(b, &v); err != nil {
		return Version{}, fmt.Errorf("decode JSON: %w", err)
	}
	if v.NixosVersion == "" {
		return Version{}, errors.New("no nixosVersion in output")
	}
	for _, s := range []*string{&v.NixosVersion, &v.NixpkgsRevision, &v.ConfigurationRevision} {
		*s = strings.TrimSpace(*s)
	}
	return v, nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
