package zfs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/hlalert/hlalert/alerts/yamlnode"
	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/serve"
)

// Config is the zfs section of hlexporter's configuration.
type Config struct {
	// Format: "auto" (default: JSON, falling back to text once when zpool
	// rejects -j), "json" or "text".
	Format string `yaml:"format"`
	// Pools limits the collector to these pools; empty means all.
	Pools []string `yaml:"pools"`
	// Datasets and Snapshots turn the zfs list parts on or off (default on).
	Datasets  *bool `yaml:"datasets"`
	Snapshots *bool `yaml:"snapshots"`
	// ZpoolCommand and ZfsCommand name the tools (default "zpool", "zfs",
	// looked up in PATH).
	ZpoolCommand string `yaml:"zpool_command"`
	ZfsCommand   string `yaml:"zfs_command"`
	// TimeZone interprets the zone-less scan times of the text output
	// (default: the host's local zone).
	TimeZone string `yaml:"time_zone"`
}

// Validate reports every bad field, each a *yamlnode.FieldError named by
// its key path (pools[1]).
func (c Config) Validate() error {
	var errs []error
	switch c.Format {
	case "", "auto", "json", "text":
	default:
		errs = append(errs, yamlnode.FieldErrorf("format", "%q is not one of auto, json, text", c.Format))
	}
	for i, p := range c.Pools {
		if p == "" || p[0] == '-' {
			errs = append(errs, yamlnode.FieldErrorf(fmt.Sprintf("pools[%d]", i), "%q is not a pool name", p))
		}
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			errs = append(errs, yamlnode.FieldErrorf("time_zone", "unknown time zone %q", c.TimeZone))
		}
	}
	return errors.Join(errs...)
}

// Collector is the zfs collector.
type Collector struct {
	cfg   Config
	run   cmdrun.Runner
	now   func() time.Time
	log   *slog.Logger
	loc   *time.Location
	zpool string
	zfs   string
	m     metrics

	mu       sync.Mutex
	textMode bool // auto mode fell back to text
}

// New returns the zfs collector. now is the clock (nil: time.Now).
func New(cfg Config, run cmdrun.Runner, now func() time.Time, log *slog.Logger) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("zfs config: %w", err)
	}
	if run == nil {
		return nil, errors.New("zfs: nil runner")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Collector{cfg: cfg, run: run, now: now, log: log.With("collector", "zfs"), loc: time.Local,
		zpool: cfg.ZpoolCommand, zfs: cfg.ZfsCommand, m: newMetrics(), textMode: cfg.Format == "text"}
	if cfg.TimeZone != "" {
		c.loc, _ = time.LoadLocation(cfg.TimeZone)
	}
	if c.zpool == "" {
		c.zpool = "zpool"
	}
	if c.zfs == "" {
		c.zfs = "zfs"
	}
	return c, nil
}

// Name implements serve.Collector.
func (c *Collector) Name() string { return "zfs" }

// Describe implements serve.Collector.
func (c *Collector) Describe() []*serve.MetricDef { return c.m.all() }

func on(b *bool) bool { return b == nil || *b }

const listProps = "name,size,allocated,free,fragmentation,capacity,dedupratio,health"
const datasetProps = "name,type,used,available,referenced,quota"

// Update implements serve.Collector.
func (c *Collector) Update(ctx context.Context) (serve.Result, error) {
	c.mu.Lock()
	text := c.textMode
	c.mu.Unlock()

	pools, text, err := c.status(ctx, text)
	if err != nil {
		return serve.Result{}, err
	}
	var lists map[string]Pool
	if text {
		out, err := c.run.Run(ctx, append([]string{c.zpool, "list", "-Hp", "-o", listProps}, c.cfg.Pools...), nil)
		if err != nil {
			return serve.Result{}, fmt.Errorf("zpool list: %w", err)
		}
		if lists, err = ParseListText(out); err != nil {
			return serve.Result{}, err
		}
	} else {
		out, err := c.run.Run(ctx, append([]string{c.zpool, "list", "-j", "--json-int", "-o", listProps}, c.cfg.Pools...), nil)
		if err != nil {
			return serve.Result{}, fmt.Errorf("zpool list: %w", err)
		}
		if lists, err = ParseListJSON(out); err != nil {
			return serve.Result{}, err
		}
	}
	for i := range pools {
		if l, ok := lists[pools[i].Name]; ok {
			pools[i].HasList = true
			pools[i].Size, pools[i].Allocated, pools[i].Free = l.Size, l.Allocated, l.Free
			pools[i].Fragmentation, pools[i].Capacity, pools[i].DedupRatio = l.Fragmentation, l.Capacity, l.DedupRatio
		}
	}

	var errs []error
	var datasets []Dataset
	if on(c.cfg.Datasets) {
		datasets, err = c.datasets(ctx, text)
		if err != nil {
			errs = append(errs, err)
		}
	}
	var snaps map[string]SnapshotStats
	if on(c.cfg.Snapshots) {
		argv := []string{c.zfs, "list", "-Hp", "-t", "snapshot", "-o", "name,creation"}
		if len(c.cfg.Pools) > 0 {
			argv = append(append(argv, "-r"), c.cfg.Pools...)
		}
		out, err := c.run.Run(ctx, argv, nil)
		if err == nil {
			snaps, err = ParseSnapshotsText(out)
		} else {
			err = fmt.Errorf("zfs list snapshots: %w", err)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	format := "json"
	if text {
		format = "text"
	}
	res, err := c.build(pools, datasets, snaps, format)
	if err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// status runs zpool status in the current mode; in auto mode a JSON
// failure with an exit status (an older zpool rejecting -j) falls back to
// text, and the fallback sticks when text works.
func (c *Collector) status(ctx context.Context, text bool) ([]Pool, bool, error) {
	textArgv := append([]string{c.zpool, "status", "-p", "-s"}, c.cfg.Pools...)
	if !text {
		out, err := c.run.Run(ctx, append([]string{c.zpool, "status", "-j", "--json-int"}, c.cfg.Pools...), nil)
		var ee *cmdrun.ExitError
		switch {
		case err == nil:
			pools, perr := ParseStatusJSON(out)
			if perr != nil {
				return nil, false, perr
			}
			return pools, false, nil
		case errors.As(err, &ee) && (c.cfg.Format == "" || c.cfg.Format == "auto"):
			c.log.Info("zpool rejected JSON output; falling back to text", "err", err)
		default:
			return nil, false, fmt.Errorf("zpool status: %w", err)
		}
	}
	out, err := c.run.Run(ctx, textArgv, nil)
	if err != nil {
		return nil, true, fmt.Errorf("zpool status: %w", err)
	}
	pools, err := ParseStatusText(out, c.loc)
	if err != nil {
		return nil, true, fmt.Errorf("zpool status: %w", err)
	}
	if !text {
		c.mu.Lock()
		c.textMode = true
		c.mu.Unlock()
	}
	return pools, true, nil
}

func (c *Collector) datasets(ctx context.Context, text bool) ([]Dataset, error) {
	var argv []string
	if text {
		argv = []string{c.zfs, "list", "-Hp", "-t", "filesystem,volume", "-o", datasetProps}
	} else {
		argv = []string{c.zfs, "list", "-j", "--json-int", "-t", "filesystem,volume", "-o", datasetProps}
	}
	if len(c.cfg.Pools) > 0 {
		argv = append(append(argv, "-r"), c.cfg.Pools...)
	}
	out, err := c.run.Run(ctx, argv, nil)
	if err != nil {
		return nil, fmt.Errorf("zfs list: %w", err)
	}
	if text {
		return ParseDatasetsText(out)
	}
	return ParseDatasetsJSON(out)
}

type metrics struct {
	poolHealth, poolState, poolSize, poolAlloc, poolFree, poolFrag, poolCap, poolDedup, poolDataErrors *serve.MetricDef
	vdevState, vdevRead, vdevWrite, vdevCksum, vdevSlow                                                *serve.MetricDef
	scanState, scanStart, scanEnd, scanErrors, scanProgress, scanExamined, scanToExamine               *serve.MetricDef
	dsUsed, dsAvail, dsRefer, dsQuota, snapCount, snapNewest                                           *serve.MetricDef
	format                                                                                             *serve.MetricDef
}

func newMetrics() metrics {
	const p = "hlexporter_zfs_"
	pl := []string{"pool"}
	vl := []string{"pool", "group", "vdev", "parent", "type", "path"}
	sl := []string{"pool", "function"}
	dl := []string{"dataset"}
	return metrics{
		poolHealth:     serve.NewMetricDef(p+"pool_health", "Pool health as a number: 0 ONLINE, 1 DEGRADED, 2 FAULTED, 3 OFFLINE, 4 UNAVAIL, 5 REMOVED, 6 SUSPENDED, 7 other.", serve.Gauge, pl...),
		poolState:      serve.NewMetricDef(p+"pool_state", "Pool health as a state set: 1 for the current state.", serve.StateSet, "pool", "state"),
		poolSize:       serve.NewMetricDef(p+"pool_size_bytes", "Pool size.", serve.Gauge, pl...),
		poolAlloc:      serve.NewMetricDef(p+"pool_allocated_bytes", "Pool space allocated.", serve.Gauge, pl...),
		poolFree:       serve.NewMetricDef(p+"pool_free_bytes", "Pool space free.", serve.Gauge, pl...),
		poolFrag:       serve.NewMetricDef(p+"pool_fragmentation_ratio", "Pool free-space fragmentation, 0–1.", serve.Gauge, pl...),
		poolCap:        serve.NewMetricDef(p+"pool_capacity_ratio", "Pool capacity used, 0–1.", serve.Gauge, pl...),
		poolDedup:      serve.NewMetricDef(p+"pool_dedup_ratio", "Pool deduplication ratio.", serve.Gauge, pl...),
		poolDataErrors: serve.NewMetricDef(p+"pool_data_errors", "Permanent (data) errors zpool status reports for the pool.", serve.Gauge, pl...),
		vdevState:      serve.NewMetricDef(p+"vdev_state", "Vdev state as a number (as hlexporter_zfs_pool_health); spares: AVAIL and INUSE are 7 (other).", serve.Gauge, vl...),
		vdevRead:       serve.NewMetricDef(p+"vdev_read_errors", "Vdev read errors since import or zpool clear.", serve.Gauge, vl...),
		vdevWrite:      serve.NewMetricDef(p+"vdev_write_errors", "Vdev write errors since import or zpool clear.", serve.Gauge, vl...),
		vdevCksum:      serve.NewMetricDef(p+"vdev_checksum_errors", "Vdev checksum errors since import or zpool clear.", serve.Gauge, vl...),
		vdevSlow:       serve.NewMetricDef(p+"vdev_slow_ios", "Leaf vdev I/Os slower than zio_slow_io_ms since import or zpool clear.", serve.Gauge, vl...),
		scanState:      serve.NewMetricDef(p+"scan_state", "State of the pool's current or last scan (scrub, resilver, errorscrub): 1 for the current state.", serve.StateSet, "pool", "function", "state"),
		scanStart:      serve.NewMetricDef(p+"scan_start_timestamp_seconds", "Start time of the current or last scan.", serve.Gauge, sl...),
		scanEnd:        serve.NewMetricDef(p+"scan_end_timestamp_seconds", "End time of the last finished or canceled scan; absent while scanning.", serve.Gauge, sl...),
		scanErrors:     serve.NewMetricDef(p+"scan_errors", "Errors the current or last scan found.", serve.Gauge, sl...),
		scanProgress:   serve.NewMetricDef(p+"scan_progress_ratio", "Fraction of the current scan done, 0–1 (1 when finished).", serve.Gauge, sl...),
		scanExamined:   serve.NewMetricDef(p+"scan_examined_bytes", "Bytes the current or last scan examined.", serve.Gauge, sl...),
		scanToExamine:  serve.NewMetricDef(p+"scan_to_examine_bytes", "Bytes the current or last scan has to examine.", serve.Gauge, sl...),
		dsUsed:         serve.NewMetricDef(p+"dataset_used_bytes", "Dataset space used, descendants and snapshots included.", serve.Gauge, dl...),
		dsAvail:        serve.NewMetricDef(p+"dataset_available_bytes", "Dataset space available.", serve.Gauge, dl...),
		dsRefer:        serve.NewMetricDef(p+"dataset_referenced_bytes", "Dataset space referenced.", serve.Gauge, dl...),
		dsQuota:        serve.NewMetricDef(p+"dataset_quota_bytes", "Dataset quota; 0 when none.", serve.Gauge, dl...),
		snapCount:      serve.NewMetricDef(p+"dataset_snapshots", "Number of snapshots of the dataset (datasets without snapshots are absent).", serve.Gauge, dl...),
		snapNewest:     serve.NewMetricDef(p+"dataset_newest_snapshot_timestamp_seconds", "Creation time of the dataset's newest snapshot.", serve.Gauge, dl...),
		format:         serve.NewMetricDef(p+"output_format_info", "Which zpool/zfs output the collector parses: json (OpenZFS ≥ 2.3) or text.", serve.Info, "format"),
	}
}

// Metrics lists every metric the zfs collector can emit, for the catalog;
// it needs no configuration.
func Metrics() []*serve.MetricDef { return newMetrics().all() }

func (m metrics) all() []*serve.MetricDef {
	return []*serve.MetricDef{m.poolHealth, m.poolState, m.poolSize, m.poolAlloc, m.poolFree, m.poolFrag, m.poolCap, m.poolDedup, m.poolDataErrors,
		m.vdevState, m.vdevRead, m.vdevWrite, m.vdevCksum, m.vdevSlow,
		m.scanState, m.scanStart, m.scanEnd, m.scanErrors, m.scanProgress, m.scanExamined, m.scanToExamine,
		m.dsUsed, m.dsAvail, m.dsRefer, m.dsQuota, m.snapCount, m.snapNewest, m.format}
}

func addIf(b *serve.Metrics, d *serve.MetricDef, v float64, lv ...string) {
	if !math.IsNaN(v) {
		b.Add(d, v, lv...)
	}
}

func unix(t time.Time) float64 { return float64(t.Unix()) }

func (c *Collector) build(pools []Pool, datasets []Dataset, snaps map[string]SnapshotStats, format string) (serve.Result, error) {
	m := c.m
	var b serve.Metrics
	b.Add(m.format, 1, format)
	hp := map[string]any{"pools": len(pools)}
	unhealthy, vdevErrs := 0, 0.0
	worstCap := math.NaN()
	var oldestScrub time.Time
	allScrubbed := true
	for _, p := range pools {
		idx := stateIndex(p.State)
		b.Add(m.poolHealth, float64(idx), p.Name)
		cur := p.State
		if idx == len(poolStates) {
			cur = "other"
		} else {
			cur = poolStates[idx]
		}
		b.StateSet(m.poolState, append(append([]string(nil), poolStates...), "other"), cur, p.Name)
		if idx != 0 {
			unhealthy++
		}
		if p.HasList {
			addIf(&b, m.poolSize, p.Size, p.Name)
			addIf(&b, m.poolAlloc, p.Allocated, p.Name)
			addIf(&b, m.poolFree, p.Free, p.Name)
			addIf(&b, m.poolFrag, p.Fragmentation, p.Name)
			addIf(&b, m.poolCap, p.Capacity, p.Name)
			addIf(&b, m.poolDedup, p.DedupRatio, p.Name)
			if !math.IsNaN(p.Capacity) && (math.IsNaN(worstCap) || p.Capacity > worstCap) {
				worstCap = p.Capacity
			}
		}
		if p.DataErrors >= 0 {
			b.Add(m.poolDataErrors, float64(p.DataErrors), p.Name)
		}
		seen := map[string]bool{}
		for _, v := range p.Vdevs {
			lv := []string{p.Name, v.Group, v.Name, v.Parent, v.Type, v.Path}
			key := v.Group + "\x00" + v.Name + "\x00" + v.Parent
			if seen[key] {
				continue // a device listed twice (e.g. a spare in use) keeps its first row
			}
			seen[key] = true
			b.Add(m.vdevState, float64(stateIndex(v.State)), lv...)
			b.Add(m.vdevRead, v.Read, lv...)
			b.Add(m.vdevWrite, v.Write, lv...)
			b.Add(m.vdevCksum, v.Cksum, lv...)
			addIf(&b, m.vdevSlow, v.Slow, lv...)
			vdevErrs += v.Read + v.Write + v.Cksum
		}
		if s := p.Scan; s != nil {
			b.StateSet(m.scanState, scanStates, s.State, p.Name, s.Function)
			if !s.Start.IsZero() {
				b.Add(m.scanStart, unix(s.Start), p.Name, s.Function)
			}
			if !s.End.IsZero() {
				b.Add(m.scanEnd, unix(s.End), p.Name, s.Function)
			}
			b.Add(m.scanErrors, s.Errors, p.Name, s.Function)
			addIf(&b, m.scanProgress, s.Progress, p.Name, s.Function)
			addIf(&b, m.scanExamined, s.Examined, p.Name, s.Function)
			addIf(&b, m.scanToExamine, s.ToExamine, p.Name, s.Function)
		}
		if s := p.Scan; s != nil && s.Function == "scrub" && s.State == "finished" {
			if oldestScrub.IsZero() || s.End.Before(oldestScrub) {
				oldestScrub = s.End
			}
		} else {
			allScrubbed = false
		}
	}
	for _, d := range datasets {
		addIf(&b, m.dsUsed, d.Used, d.Name)
		addIf(&b, m.dsAvail, d.Available, d.Name)
		addIf(&b, m.dsRefer, d.Referenced, d.Name)
		addIf(&b, m.dsQuota, d.Quota, d.Name)
	}
	names := make([]string, 0, len(snaps))
	for k := range snaps {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, ds := range names {
		s := snaps[ds]
		b.Add(m.snapCount, float64(s.Count), ds)
		b.Add(m.snapNewest, unix(s.Newest), ds)
	}
	hp["pools_unhealthy"] = unhealthy
	hp["vdev_errors"] = vdevErrs
	if !math.IsNaN(worstCap) {
		hp["max_capacity_percent"] = math.Round(worstCap*1000) / 10
	}
	if allScrubbed && !oldestScrub.IsZero() {
		hp["oldest_scrub"] = oldestScrub
		hp["oldest_scrub_age_days"] = math.Floor(c.now().Sub(oldestScrub).Hours()/24*10) / 10
	}
	list, err := b.List()
	return serve.Result{Metrics: list, Homepage: hp}, err
}

var _ serve.Collector = (*Collector)(nil)
