package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/dispatch"

	"github.com/hlalert/hlalert/alerts/evaluator"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/series"
)

// Silencer tells which silences mute a label set (alerts/silence.Store).
type Silencer interface {
	Mutes(lset map[string]string) ([]string, error)
}

// Options configures a Dispatcher.
type Options struct {
	Config   *Config  // required
	Sender   Sender   // required
	Silences Silencer // nil: no silences
	// StateDir holds notify.json: the alerts held and the notification log.
	StateDir string // required
	Logger   *slog.Logger
	Now      func() time.Time // nil: time.Now
	// ResolveTimeout resolves a firing alert the evaluator has not
	// mentioned for this long (Alertmanager's resolve_timeout). 0 disables
	// it: hlalert's evaluator announces each firing and each resolution
	// once, reliably (it persists what it sent), and sends no heartbeats,
	// so a timeout would produce false "resolved" mails for long outages.
	ResolveTimeout time.Duration
	// RetryInterval is the wait before handing a batch over again after
	// Send failed (capped at the route's group_interval). 0: one minute.
	RetryInterval time.Duration
}

func (o *Options) validate() error {
	var errs []error
	if o.Config == nil {
		errs = append(errs, errors.New("notify: Options.Config is required"))
	}
	if o.Sender == nil {
		errs = append(errs, errors.New("notify: Options.Sender is required"))
	}
	if o.StateDir == "" {
		errs = append(errs, errors.New("notify: Options.StateDir is required"))
	}
	if o.ResolveTimeout < 0 {
		errs = append(errs, errors.New("notify: Options.ResolveTimeout must not be negative"))
	}
	if o.RetryInterval < 0 {
		errs = append(errs, errors.New("notify: Options.RetryInterval must not be negative"))
	}
	return errors.Join(errs...)
}

// Dispatcher routes alerts from the evaluator to receivers: it implements
// evaluator.Notifier, holds alerts until they resolve, groups them per
// route and group labels, and flushes each group to a Sender with
// Alertmanager's timing (group_wait, group_interval, repeat_interval),
// inhibition, silences and time intervals. What was sent is logged to the
// state directory so a restart neither repeats nor loses a notification.
type Dispatcher struct {
	opts Options
	log  *slog.Logger
	wake chan struct{}

	mu      sync.Mutex
	cfg     *Config
	alerts  map[string]*storedAlert // by fingerprint
	groups  map[string]*aggrGroup   // by receiver + GroupKey
	nflog   map[string]logEntry     // by receiver + GroupKey
	extURL  string
	sending map[string]bool // groups with a Send in flight
	dirty   bool            // state changed since the last persist
}

type aggrGroup struct {
	route    *dispatch.Route
	receiver string
	key      string
	labels   map[string]string
	fps      map[string]struct{}
	next     time.Time
	flushed  bool
}

var _ evaluator.Notifier = (*Dispatcher)(nil)

func logKey(receiver, groupKey string) string { return receiver + "\x00" + groupKey }

// New builds a dispatcher and restores its alerts and notification log
// from opts.StateDir; group timers are re-derived from the log.
func New(opts Options) (*Dispatcher, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryInterval == 0 {
		opts.RetryInterval = time.Minute
	}
	st, err := readState(opts.StateDir)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{
		opts:    opts,
		log:     opts.Logger.With("component", "notify"),
		wake:    make(chan struct{}, 1),
		cfg:     opts.Config,
		alerts:  map[string]*storedAlert{},
		groups:  map[string]*aggrGroup{},
		nflog:   map[string]logEntry{},
		extURL:  st.ExternalURL,
		sending: map[string]bool{},
	}
	for _, a := range st.Alerts {
		a := a
		d.alerts[a.Fingerprint] = &a
	}
	for _, e := range st.Log {
		d.nflog[logKey(e.Receiver, e.GroupKey)] = e
	}
	d.mu.Lock()
	d.regroup(opts.Now())
	d.mu.Unlock()
	return d, nil
}

// ApplyConfig switches to a new routing config (a reload). Alerts are
// regrouped; groups whose key is unchanged keep their timers.
func (d *Dispatcher) ApplyConfig(cfg *Config) {
	d.mu.Lock()
	d.cfg = cfg
	d.regroup(d.opts.Now())
	d.mu.Unlock()
	d.poke()
}

// regroup rebuilds the aggregation groups from the held alerts. Callers
// hold d.mu.
func (d *Dispatcher) regroup(now time.Time) {
	old := d.groups
	d.groups = map[string]*aggrGroup{}
	fps := make([]string, 0, len(d.alerts))
	for fp := range d.alerts {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	for _, fp := range fps {
		d.insert(d.alerts[fp], now, old)
	}
}

// insert puts an alert into the groups of the routes it matches, creating
// groups as needed. Callers hold d.mu.
func (d *Dispatcher) insert(a *storedAlert, now time.Time, old map[string]*aggrGroup) {
	for _, m := range d.cfg.Match(a.Labels) {
		k := logKey(m.Receiver, m.GroupKey)
		g, ok := d.groups[k]
		if !ok {
			if o, had := old[k]; had {
				g = o
				g.route = m.route
				g.fps = map[string]struct{}{}
			} else {
				g = &aggrGroup{route: m.route, receiver: m.Receiver, key: m.GroupKey, labels: m.GroupLabels, fps: map[string]struct{}{}}
				if e, logged := d.nflog[k]; logged {
					// Restored: the next flush is one group_interval after
					// the last notification.
					g.flushed = true
					g.next = e.Timestamp.Add(m.GroupInterval)
				} else {
					g.next = now.Add(m.GroupWait)
				}
			}
			d.groups[k] = g
		}
		g.fps[a.Fingerprint] = struct{}{}
		// As Alertmanager: an alert older than group_wait makes a group that
		// has not flushed yet flush at once.
		if !g.flushed && a.StartsAt.Add(m.GroupWait).Before(now) && g.next.After(now) {
			g.next = now
		}
	}
}

// Notify implements evaluator.Notifier: it records firing and resolved
// alerts, persists them, and wakes the flush loop. Pending alerts are
// ignored. An error means nothing may be assumed stored: retry.
func (d *Dispatcher) Notify(ctx context.Context, ns []evaluator.Notification) error {
	d.mu.Lock()
	now := d.opts.Now()
	for _, n := range ns {
		a, ok := fromNotification(n, now)
		if !ok {
			continue
		}
		if n.ExternalURL != "" {
			d.extURL = n.ExternalURL
		}
		if prev, had := d.alerts[a.Fingerprint]; had && a.Status == "resolved" && prev.Status == "firing" {
			a.StartsAt = prev.StartsAt
		}
		sa := &storedAlert{Alert: a, Updated: now}
		d.alerts[a.Fingerprint] = sa
		d.insert(sa, now, nil)
	}
	err := d.persist(now)
	d.mu.Unlock()
	d.poke()
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func fromNotification(n evaluator.Notification, now time.Time) (Alert, bool) {
	lset := map[string]string{}
	for _, l := range n.Alert.Labels {
		if l.Name == series.MetricName {
			continue
		}
		lset[l.Name] = l.Value
	}
	ann := map[string]string{}
	for k, v := range n.Alert.Annotations {
		ann[k] = v
	}
	a := Alert{
		Labels:       lset,
		Annotations:  ann,
		GeneratorURL: n.ExternalURL,
		Fingerprint:  toLabelSet(lset).Fingerprint().String(),
	}
	a.StartsAt = n.Alert.FiredAt
	if a.StartsAt.IsZero() {
		a.StartsAt = n.Alert.ActiveAt
	}
	switch n.Alert.State {
	case rule.StateFiring:
		a.Status = "firing"
	case rule.StateInactive:
		a.Status = "resolved"
		a.EndsAt = n.Alert.ResolvedAt
		if a.EndsAt.IsZero() {
			a.EndsAt = now
		}
	default:
		return Alert{}, false
	}
	if a.StartsAt.IsZero() {
		a.StartsAt = now
	}
	return a, true
}

// persist writes alerts and notification log. Callers hold d.mu.
func (d *Dispatcher) persist(now time.Time) error {
	st := stateFile{ExternalURL: d.extURL}
	fps := make([]string, 0, len(d.alerts))
	for fp := range d.alerts {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	for _, fp := range fps {
		st.Alerts = append(st.Alerts, *d.alerts[fp])
	}
	keys := make([]string, 0, len(d.nflog))
	for k, e := range d.nflog {
		if now.Sub(e.Timestamp) > nflogRetention {
			if _, live := d.groups[k]; !live {
				delete(d.nflog, k)
				continue
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st.Log = append(st.Log, d.nflog[k])
	}
	return writeState(d.opts.StateDir, st)
}

// Run flushes aggregation groups when they are due until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	for {
		next, ok := d.Flush(ctx)
		var timer <-chan time.Time
		var t *time.Timer
		if ok {
			t = time.NewTimer(max(next.Sub(d.opts.Now()), 0))
			timer = t.C
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// flushPlan is one group flush computed under the lock and sent outside it.
type flushPlan struct {
	k        string
	batch    Batch
	send     bool
	entry    logEntry
	resolved map[string]time.Time // resolved alerts flushed: fp -> EndsAt
}

// Flush handles every group that is due now and returns when the next one
// is due (ok false: no groups). Run calls it; tests may call it directly.
func (d *Dispatcher) Flush(ctx context.Context) (next time.Time, ok bool) {
	d.mu.Lock()
	now := d.opts.Now()
	d.resolveStale(now)
	var plans []flushPlan
	keys := make([]string, 0, len(d.groups))
	for k := range d.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := d.groups[k]
		if g.next.After(now) || d.sending[k] {
			continue
		}
		p := d.plan(k, g, now)
		if p.send {
			d.sending[k] = true
			plans = append(plans, p)
			continue
		}
		d.commit(p, g, now)
	}
	if len(plans) == 0 {
		if err := d.persistIfDirty(now); err != nil {
			d.log.Error("persist notification state", "err", err)
		}
	}
	d.mu.Unlock()

	for _, p := range plans {
		err := d.opts.Sender.Send(ctx, p.batch)
		d.mu.Lock()
		delete(d.sending, p.k)
		now := d.opts.Now()
		g := d.groups[p.k]
		if err != nil {
			d.log.Error("send failed; retrying", "receiver", p.batch.Receiver, "group", p.batch.GroupKey, "seq", p.batch.Seq, "err", err)
			if g != nil {
				g.next = now.Add(min(d.opts.RetryInterval, max(g.route.RouteOpts.GroupInterval, time.Second)))
			}
		} else {
			d.log.Info("notified", "receiver", p.batch.Receiver, "group", p.batch.GroupKey, "seq", p.batch.Seq, "alerts", len(p.batch.Alerts))
			d.commit(p, g, now)
		}
		d.mu.Unlock()
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.persistIfDirty(d.opts.Now()); err != nil {
		d.log.Error("persist notification state", "err", err)
	}
	for _, g := range d.groups {
		if !ok || g.next.Before(next) {
			next, ok = g.next, true
		}
	}
	return next, ok
}

// persistIfDirty persists when something changed. Callers hold d.mu.
func (d *Dispatcher) persistIfDirty(now time.Time) error {
	if !d.dirty {
		return nil
	}
	if err := d.persist(now); err != nil {
		return err
	}
	d.dirty = false
	return nil
}

// resolveStale applies ResolveTimeout. Callers hold d.mu.
func (d *Dispatcher) resolveStale(now time.Time) {
	if d.opts.ResolveTimeout == 0 {
		return
	}
	for _, a := range d.alerts {
		if a.Status == "firing" && now.Sub(a.Updated) >= d.opts.ResolveTimeout {
			a.Status = "resolved"
			a.EndsAt = a.Updated.Add(d.opts.ResolveTimeout)
			d.dirty = true
		}
	}
}

// plan decides what a due group sends, with Alertmanager's dedup rules.
// Callers hold d.mu.
func (d *Dispatcher) plan(k string, g *aggrGroup, now time.Time) flushPlan {
	p := flushPlan{k: k, resolved: map[string]time.Time{}}
	for fp := range g.fps {
		if a := d.alerts[fp]; a != nil && a.Status == "resolved" {
			p.resolved[fp] = a.EndsAt
		}
	}
	if muted, why := d.cfg.muted(g.route, now); muted {
		d.log.Debug("group muted by time interval", "group", g.key, "why", why)
		return p
	}
	var firingSrc []map[string]string
	for _, a := range d.alerts {
		if a.Status == "firing" {
			firingSrc = append(firingSrc, a.Labels)
		}
	}
	var firing, resolved []Alert
	for fp := range g.fps {
		a := d.alerts[fp]
		if a == nil {
			continue
		}
		if d.mutedAlert(a.Labels, firingSrc) {
			continue
		}
		if a.Status == "firing" {
			firing = append(firing, a.Alert)
		} else {
			resolved = append(resolved, a.Alert)
		}
	}
	sortAlerts(firing)
	sortAlerts(resolved)
	ff, rf := fingerprints(firing), fingerprints(resolved)
	e, logged := d.nflog[k]
	var ep *logEntry
	if logged {
		ep = &e
	}
	if !needsUpdate(ep, ff, rf, d.cfg.SendResolved(g.receiver), g.route.RouteOpts.RepeatInterval, now) {
		return p
	}
	p.entry = logEntry{Receiver: g.receiver, GroupKey: g.key, Seq: e.Seq + 1, Firing: ff, Resolved: rf}
	alerts := slices.Clone(firing)
	if d.cfg.SendResolved(g.receiver) {
		alerts = append(alerts, resolved...)
	}
	if len(alerts) == 0 || !d.cfg.HasIntegrations(g.receiver) {
		// Logged, not sent: Alertmanager records all-resolved groups even
		// when the receiver does not want resolved notifications.
		p.entry.Seq = e.Seq
		return p
	}
	gl := make(map[string]string, len(g.labels))
	for k, v := range g.labels {
		gl[k] = v
	}
	p.send = true
	p.batch = Batch{Receiver: g.receiver, GroupKey: g.key, GroupLabels: gl, Alerts: alerts, ExternalURL: d.extURL, Seq: p.entry.Seq}
	return p
}

// mutedAlert reports whether a silence or an inhibit rule mutes lset.
// Callers hold d.mu.
func (d *Dispatcher) mutedAlert(lset map[string]string, firing []map[string]string) bool {
	if d.opts.Silences != nil {
		ids, err := d.opts.Silences.Mutes(lset)
		if err != nil {
			d.log.Error("read silences (alert not muted)", "err", err)
		}
		if len(ids) > 0 {
			return true
		}
	}
	return len(d.cfg.Inhibited(lset, firing)) > 0
}

// commit records a finished flush: log entry, resolved alerts dropped,
// next timer. Callers hold d.mu.
func (d *Dispatcher) commit(p flushPlan, g *aggrGroup, now time.Time) {
	d.dirty = true
	if p.entry.Receiver != "" {
		p.entry.Timestamp = now
		d.nflog[p.k] = p.entry
	}
	if g == nil {
		return
	}
	g.flushed = true
	g.next = now.Add(g.route.RouteOpts.GroupInterval)
	// Drop resolved alerts that were part of this flush and did not change
	// since (a re-fire in between keeps them).
	for fp, ends := range p.resolved {
		a := d.alerts[fp]
		if a == nil || a.Status != "resolved" || !a.EndsAt.Equal(ends) {
			continue
		}
		delete(g.fps, fp)
		if !d.held(fp) {
			delete(d.alerts, fp)
		}
	}
	if len(g.fps) == 0 {
		delete(d.groups, p.k)
	}
}

// held reports whether a group still holds fp. Callers hold d.mu.
func (d *Dispatcher) held(fp string) bool {
	for _, g := range d.groups {
		if _, ok := g.fps[fp]; ok {
			return true
		}
	}
	return false
}

// needsUpdate is Alertmanager's dedup decision (notify.DedupStage).
func needsUpdate(e *logEntry, firing, resolved []string, sendResolved bool, repeat time.Duration, now time.Time) bool {
	if e == nil {
		return len(firing) > 0
	}
	if !subset(firing, e.Firing) {
		return true
	}
	if len(firing) == 0 {
		return len(e.Firing) > 0
	}
	if sendResolved && !subset(resolved, e.Resolved) {
		return true
	}
	return e.Timestamp.Before(now.Add(-repeat))
}

// subset reports whether every element of a (sorted) is in b (sorted).
func subset(a, b []string) bool {
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			return false
		}
	}
	return true
}

func fingerprints(as []Alert) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Fingerprint)
	}
	sort.Strings(out)
	return out
}

func sortAlerts(as []Alert) {
	sort.Slice(as, func(i, j int) bool {
		li, lj := toLabelSet(as[i].Labels).String(), toLabelSet(as[j].Labels).String()
		if li != lj {
			return li < lj
		}
		return as[i].Fingerprint < as[j].Fingerprint
	})
}
