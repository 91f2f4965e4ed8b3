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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/amconfig"
	"github.com/hlalert/hlalert/alerts/metrics"
	"github.com/hlalert/hlalert/alerts/series"
)

// Silencer tells which silences mute a label set (alerts/silence.Store).
type Silencer interface {
	Mutes(lset map[string]string) ([]string, error)
}

// Options configures a Dispatcher.
type Options struct {
	Config *Config // required
	// Integrations of each receiver; a receiver without any has its
	// flushes logged, not sent (Alertmanager's receiver without configs).
	Integrations Integrations
	Silences     Silencer // nil: no silences
	// Registerer takes the integrations' metrics (metrics.Integrations);
	// nil: not registered.
	Registerer prometheus.Registerer
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
	// RetryInterval is the wait before an integration whose delivery
	// failed with a retryable error is tried again; it doubles with each
	// further failure, capped at the route's group_interval (and so is
	// the first wait). 0: one minute.
	RetryInterval time.Duration
}

func (o *Options) validate() error {
	var errs []error
	if o.Config == nil {
		errs = append(errs, errors.New("notify: Options.Config is required"))
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
// inhibition, silences and time intervals. Each integration of the
// receiver (an e-mail config, the Alertmanager hand-off) is then
// notified on its own, concurrently, with its own retries and its own
// notification log entry, as Alertmanager's fan-out, dedup and retry
// stages do: one that fails or refuses never delays or suppresses
// another. What was sent is logged to the state directory so a restart
// neither repeats nor loses a notification.
type Dispatcher struct {
	opts    Options
	log     *slog.Logger
	wake    chan struct{}
	metrics *metrics.Integrations
	wg      sync.WaitGroup // deliveries in flight

	mu     sync.Mutex
	cfg    *Config
	ints   Integrations
	alerts map[string]*storedAlert       // by fingerprint
	groups map[string]*aggrGroup         // by receiver + GroupKey
	nflog  map[string]logEntry           // by receiver + GroupKey + integration
	status map[string]*IntegrationStatus // by receiver + integration
	extURL string
	dirty  bool // state changed since the last persist
}

type aggrGroup struct {
	route    *amconfig.Route
	receiver string
	key      string
	labels   map[string]string
	fps      map[string]struct{}
	next     time.Time // the next group flush
	flushed  bool
	ints     map[string]*intState // by integration name
	// drop holds the resolved alerts a group flush included (fp ->
	// EndsAt); they leave the group once no integration still owes them.
	drop map[string]time.Time
}

// intState is one integration's progress within one group.
type intState struct {
	sending  bool      // a delivery is in flight
	again    bool      // the group flushed while it was in flight: plan again when it ends
	failures int       // consecutive retryable failures
	due      time.Time // a retry is due at this time; zero: none
}

func (g *aggrGroup) state(name string) *intState {
	st := g.ints[name]
	if st == nil {
		st = &intState{}
		g.ints[name] = st
	}
	return st
}

func logKey(receiver, groupKey string) string { return receiver + "\x00" + groupKey }

// entryKey keys the notification log: one entry per receiver, group and
// integration ("" for a receiver without integrations, and for entries
// written before integrations had their own).
func entryKey(receiver, groupKey, integration string) string {
	return receiver + "\x00" + groupKey + "\x00" + integration
}

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
		metrics: metrics.NewIntegrations(opts.Registerer),
		cfg:     opts.Config,
		alerts:  map[string]*storedAlert{},
		groups:  map[string]*aggrGroup{},
		nflog:   map[string]logEntry{},
		status:  map[string]*IntegrationStatus{},
		extURL:  st.ExternalURL,
	}
	for _, a := range st.Alerts {
		a := a
		d.alerts[a.Fingerprint] = &a
	}
	for _, e := range st.Log {
		d.nflog[entryKey(e.Receiver, e.GroupKey, e.Integration)] = e
	}
	d.mu.Lock()
	d.setIntegrations(opts.Integrations)
	d.regroup(opts.Now())
	d.mu.Unlock()
	return d, nil
}

// ApplyConfig switches, in one step, to a new routing config and the
// integrations built for it (a reload). Alerts are regrouped; groups
// whose key is unchanged keep their timers. Deliveries in flight finish
// through the integration they started with.
func (d *Dispatcher) ApplyConfig(cfg *Config, ints Integrations) {
	d.mu.Lock()
	d.cfg = cfg
	d.setIntegrations(ints)
	d.regroup(d.opts.Now())
	d.mu.Unlock()
	d.poke()
}

// setIntegrations installs ints and keeps the status and metrics of
// exactly the configured integrations. Callers hold d.mu.
func (d *Dispatcher) setIntegrations(ints Integrations) {
	d.ints = ints
	keep := map[string]bool{}
	for r, list := range ints {
		for _, in := range list {
			k := logKey(r, in.Name)
			keep[k] = true
			if d.status[k] == nil {
				d.status[k] = &IntegrationStatus{Receiver: r, Integration: in.Name}
				d.metrics.Add(r, in.Name)
			}
		}
	}
	for k, st := range d.status {
		if !keep[k] {
			delete(d.status, k)
			d.metrics.Remove(st.Receiver, st.Integration)
		}
	}
}

// configured reports whether receiver has an integration called name.
// Callers hold d.mu.
func (d *Dispatcher) configured(receiver, name string) bool {
	for _, in := range d.ints[receiver] {
		if in.Name == name {
			return true
		}
	}
	return false
}

// IntegrationStatus reports how each configured integration fares,
// sorted by receiver and integration.
func (d *Dispatcher) IntegrationStatus() []IntegrationStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]IntegrationStatus, 0, len(d.status))
	for _, st := range d.status {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Receiver != out[j].Receiver {
			return out[i].Receiver < out[j].Receiver
		}
		return out[i].Integration < out[j].Integration
	})
	return out
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
				g = &aggrGroup{route: m.route, receiver: m.Receiver, key: m.GroupKey, labels: m.GroupLabels, fps: map[string]struct{}{}, ints: map[string]*intState{}, drop: map[string]time.Time{}}
				if last, logged := d.lastLogged(m.Receiver, m.GroupKey); logged {
					// Restored: the next flush is one group_interval after
					// the last notification.
					g.flushed = true
					g.next = last.Add(m.GroupInterval)
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

// lastLogged is the time of the group's latest notification log entry.
// Callers hold d.mu.
func (d *Dispatcher) lastLogged(receiver, groupKey string) (last time.Time, ok bool) {
	for _, e := range d.nflog {
		if e.Receiver == receiver && e.GroupKey == groupKey && (!ok || e.Timestamp.After(last)) {
			last, ok = e.Timestamp, true
		}
	}
	return last, ok
}

// entry is an integration's log entry for a group; an entry written
// before integrations had their own stands in for each of them.
// Callers hold d.mu.
func (d *Dispatcher) entry(receiver, groupKey, integration string) (logEntry, bool) {
	if e, ok := d.nflog[entryKey(receiver, groupKey, integration)]; ok {
		return e, true
	}
	e, ok := d.nflog[entryKey(receiver, groupKey, "")]
	return e, ok
}

// Notify implements evaluator.Notifier: it records firing and resolved
// alerts, persists them, and wakes the flush loop. Pending alerts are
// ignored. An error means nothing may be assumed stored: retry.
func (d *Dispatcher) Notify(ctx context.Context, ns []alert.Notification) error {
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

func fromNotification(n alert.Notification, now time.Time) (Alert, bool) {
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
	case alert.StateFiring:
		a.Status = "firing"
	case alert.StateInactive:
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
			if _, live := d.groups[logKey(e.Receiver, e.GroupKey)]; !live {
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

// Run flushes aggregation groups when they are due until ctx ends, then
// waits for the deliveries in flight (which see ctx end too).
func (d *Dispatcher) Run(ctx context.Context) error {
	defer d.wg.Wait()
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

// delivery is one batch for one integration, planned under the lock and
// delivered outside it.
type delivery struct {
	g     *aggrGroup
	in    Integration
	batch Batch
	entry logEntry // logged once delivered (or refused for good)
}

// Flush handles every group and integration retry that is due now,
// starting each delivery in its own goroutine (it does not wait for
// them: one slow integration never holds up another, nor the next
// flush), and returns when the next one is due (ok false: nothing is
// scheduled). Run calls it; a finished delivery wakes Run.
func (d *Dispatcher) Flush(ctx context.Context) (next time.Time, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.opts.Now()
	d.resolveStale(now)
	keys := make([]string, 0, len(d.groups))
	for k := range d.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ds []delivery
	for _, k := range keys {
		ds = append(ds, d.flushGroup(k, d.groups[k], now)...)
	}
	if err := d.persistIfDirty(now); err != nil {
		d.log.Error("persist notification state", "err", err)
	}
	for _, dl := range ds {
		d.wg.Add(1)
		go d.deliver(ctx, dl)
	}
	for _, g := range d.groups {
		if !ok || g.next.Before(next) {
			next, ok = g.next, true
		}
		for _, st := range g.ints {
			if !st.sending && !st.due.IsZero() && st.due.Before(next) {
				next = st.due
			}
		}
	}
	return next, ok
}

// flushGroup plans a group's deliveries: to every integration of its
// receiver when the group is due, else to the integrations whose retry
// is due, each deduplicated against its own log entry. Callers hold d.mu.
func (d *Dispatcher) flushGroup(k string, g *aggrGroup, now time.Time) []delivery {
	groupDue := !g.next.After(now)
	ints := d.ints[g.receiver]
	var due []Integration
	for _, in := range ints {
		st := g.state(in.Name)
		switch {
		case st.sending:
			st.again = st.again || groupDue
		case !st.due.IsZero(): // waiting for its retry, group tick or not
			if !st.due.After(now) {
				due = append(due, in)
			}
		case groupDue:
			due = append(due, in)
		}
	}
	if !groupDue && len(due) == 0 {
		return nil
	}
	if groupDue {
		g.flushed = true
		g.next = now.Add(g.route.GroupInterval)
		for fp := range g.fps {
			if a := d.alerts[fp]; a != nil && a.Status == "resolved" {
				g.drop[fp] = a.EndsAt
			}
		}
		defer d.settle(k, g)
	}
	for _, in := range due {
		g.ints[in.Name].due = time.Time{}
	}
	if muted, why := d.cfg.muted(g.route, now); muted {
		d.log.Debug("group muted by time interval", "group", g.key, "why", why)
		return nil
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
	sendResolved := d.cfg.SendResolved(g.receiver)
	alerts := slices.Clone(firing)
	if sendResolved {
		alerts = append(alerts, resolved...)
	}
	names := make([]string, len(due))
	for i, in := range due {
		names[i] = in.Name
	}
	if len(ints) == 0 && groupDue {
		names = []string{""} // no integrations: logged, not sent
	}
	var out []delivery
	for i, name := range names {
		e, logged := d.entry(g.receiver, g.key, name)
		var ep *logEntry
		if logged {
			ep = &e
		}
		if !needsUpdate(ep, ff, rf, sendResolved, g.route.RepeatInterval, now) {
			continue
		}
		entry := logEntry{Receiver: g.receiver, GroupKey: g.key, Integration: name, Seq: e.Seq + 1, Firing: ff, Resolved: rf}
		if len(alerts) == 0 || name == "" {
			// Logged, not sent: Alertmanager records all-resolved groups even
			// when the receiver does not want resolved notifications.
			entry.Seq = e.Seq
			d.commitEntry(entry, now)
			continue
		}
		gl := make(map[string]string, len(g.labels))
		for k, v := range g.labels {
			gl[k] = v
		}
		g.ints[name].sending = true
		out = append(out, delivery{g: g, in: due[i], entry: entry, batch: Batch{
			Receiver: g.receiver, GroupKey: g.key, GroupLabels: gl, Alerts: slices.Clone(alerts),
			ExternalURL: d.extURL, Seq: entry.Seq,
		}})
	}
	return out
}

// deliver hands one batch to one integration and records the outcome:
// success and refusal (a non-retryable error: sending it again would
// not help) are logged and not sent again until the group changes or
// repeat_interval passes; a retryable failure is retried after a backoff.
func (d *Dispatcher) deliver(ctx context.Context, dl delivery) {
	defer d.wg.Done()
	r, name := dl.batch.Receiver, dl.in.Name
	d.metrics.Attempt(r, name)
	retry, err := dl.in.Notifier.Notify(ctx, dl.batch)
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.poke()
	now := d.opts.Now()
	log := d.log.With("receiver", r, "integration", name, "group", dl.batch.GroupKey, "seq", dl.batch.Seq)
	is := dl.g.state(name)
	is.sending = false
	st := d.status[logKey(r, name)]
	if st == nil { // dropped by a reload meanwhile
		st = &IntegrationStatus{}
	}
	st.Attempts++
	st.LastAttempt = now
	switch {
	case err == nil:
		d.metrics.Succeeded(r, name, now)
		st.LastSuccess, st.ConsecutiveFailures, st.LastError, st.RetryAt = now, 0, "", time.Time{}
		is.failures = 0
		d.commitEntry(dl.entry, now)
		log.Info("notified", "alerts", len(dl.batch.Alerts))
	default:
		d.metrics.Failed(r, name)
		st.Failures++
		st.ConsecutiveFailures++
		st.LastError = err.Error()
		if !retry {
			st.RetryAt = time.Time{}
			is.failures = 0
			d.commitEntry(dl.entry, now)
			log.Error("notification refused; not retried (the next change of the group is sent again)", "err", err)
			break
		}
		is.failures++
		is.due = now.Add(d.retryWait(dl.g, is.failures))
		st.RetryAt = is.due
		log.Error("notification failed; will retry", "attempt", is.failures, "retry_at", is.due, "err", err)
	}
	if is.again {
		is.again = false
		if is.due.IsZero() {
			is.due = now
		}
	}
	if d.groups[logKey(dl.g.receiver, dl.g.key)] == dl.g {
		d.settle(logKey(dl.g.receiver, dl.g.key), dl.g)
	}
	if err := d.persistIfDirty(now); err != nil {
		log.Error("persist notification state", "err", err)
	}
}

// retryWait is the wait before the n-th retry of an integration:
// RetryInterval doubling, both capped at the group_interval.
func (d *Dispatcher) retryWait(g *aggrGroup, n int) time.Duration {
	gi := max(g.route.GroupInterval, time.Second)
	w := min(d.opts.RetryInterval, gi)
	for i := 1; i < n && w < gi; i++ {
		w *= 2
	}
	return min(w, gi)
}

// settle drops the resolved alerts a flush included once no configured
// integration still owes them (none in flight, none waiting to retry),
// and the group once it is empty. Callers hold d.mu.
func (d *Dispatcher) settle(k string, g *aggrGroup) {
	for name, st := range g.ints {
		if st.sending || (!st.due.IsZero() && d.configured(g.receiver, name)) {
			return
		}
	}
	for fp, ends := range g.drop {
		delete(g.drop, fp)
		a := d.alerts[fp]
		if a == nil || a.Status != "resolved" || !a.EndsAt.Equal(ends) {
			continue // re-fired or resolved again since
		}
		delete(g.fps, fp)
		if !d.held(fp) {
			delete(d.alerts, fp)
		}
		d.dirty = true
	}
	if len(g.fps) == 0 && d.groups[k] == g {
		delete(d.groups, k)
	}
}

// commitEntry records a notification log entry. Callers hold d.mu.
func (d *Dispatcher) commitEntry(e logEntry, now time.Time) {
	e.Timestamp = now
	d.nflog[entryKey(e.Receiver, e.GroupKey, e.Integration)] = e
	d.dirty = true
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
