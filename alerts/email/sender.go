// Package email sends alert notifications by e-mail: batches from the
// notification pipeline (notify.Batch) are rendered with Alertmanager's
// template package, written durably into the outbox folder, and delivered
// by a background deliverer over SMTP with go-mail (implicit TLS or
// required STARTTLS, PLAIN/LOGIN/CRAM-MD5/SCRAM/XOAUTH2), with retries,
// exponential backoff and at-least-once delivery across restarts: a
// crash between the server's acceptance and the move to sent/ sends the
// message again, with the same Message-ID (see queue.go for the crash
// windows).
package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/hlalert/hlalert/alerts/notify"
)

// SenderOptions configures a Sender.
type SenderOptions struct {
	// Receivers: email configs by receiver name (an Alertmanager
	// receiver's email_configs, mapped with FromAM, or hlalert's own).
	Receivers     map[string][]Config
	BaseDir       string   // relative paths (secrets, templates, CA) resolve against it
	TemplateFiles []string // globs of template files overriding the defaults
	GrafanaURL    string   // linked from every mail when set
	Queue         *Queue   // the durable outbox; required
	SMTPTimeout   time.Duration
	Logger        *slog.Logger
	// Now stamps the Date header; nil: time.Now.
	Now func() time.Time
}

// Sender renders batches for e-mail receivers into the outbox queue; each
// e-mail config of a receiver is one notify integration (Integrations).
type Sender struct {
	tmpl       *Templates
	receivers  map[string][]*settings
	transports Transports
	grafana    string
	queue      *Queue
	log        *slog.Logger
	now        func() time.Time
}

// Transports are what the queue delivers a Sender's messages through:
// SMTP transports by name (TransportName) and the names whose messages
// stay in the outbox (no SMTP configured).
type Transports struct {
	SMTP map[string]Transport
	Held []string
}

// TransportName names the transport of a receiver's i-th email config.
func TransportName(receiver string, i int) string { return receiver + "#" + strconv.Itoa(i) }

// NewSender validates every config (all errors, each naming receiver and
// field), loads the templates, renders a sample batch with each config
// (a template that fails or renders empty is a config error), and builds
// one SMTP transport per config. It does not touch the queue: Activate
// installs the transports, so a failed build leaves the running ones
// whole.
func NewSender(o SenderOptions) (*Sender, error) {
	if o.Queue == nil {
		return nil, errors.New("email: queue: required")
	}
	tmpl, err := NewTemplates(o.BaseDir, o.TemplateFiles...)
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	s := &Sender{tmpl: tmpl, receivers: map[string][]*settings{}, transports: Transports{SMTP: map[string]Transport{}}, grafana: o.GrafanaURL, queue: o.Queue, log: o.Logger, now: o.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	timeout := o.SMTPTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	err = validateReceivers(tmpl, o.Receivers, o.BaseDir, o.GrafanaURL, func(name string, i int, st *settings) {
		s.receivers[name] = append(s.receivers[name], st)
		if st.cfg.OutboxOnly {
			s.transports.Held = append(s.transports.Held, TransportName(name, i))
			return
		}
		s.transports.SMTP[TransportName(name, i)] = &smtpTransport{s: st, timeout: timeout}
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Activate makes the queue deliver through this sender's transports
// only, in one step: transports of receivers (or configs) that are gone
// are removed, and their queued messages stay in the outbox, parked and
// logged, until a transport of that name returns.
func (s *Sender) Activate() { s.queue.Replace(s.transports) }

// Integrations returns one notify integration per e-mail config of each
// receiver, named "email[i]" after its index in email_configs.
func (s *Sender) Integrations() notify.Integrations {
	out := notify.Integrations{}
	for name, cfgs := range s.receivers {
		for i := range cfgs {
			out[name] = append(out[name], notify.Integration{Name: IntegrationName(i), Notifier: configNotifier{s: s, i: i}})
		}
	}
	return out
}

// IntegrationName names the notify integration of email_configs[i].
func IntegrationName(i int) string { return "email[" + strconv.Itoa(i) + "]" }

// configNotifier is one e-mail config of a receiver as a notify
// integration: it queues the batch's message durably.
type configNotifier struct {
	s *Sender
	i int
}

// Notify queues the message; a template that fails on this batch is not
// retryable, a queue that cannot write is.
func (c configNotifier) Notify(ctx context.Context, b notify.Batch) (retry bool, err error) {
	cfgs, ok := c.s.receivers[b.Receiver]
	if !ok || c.i >= len(cfgs) {
		return false, fmt.Errorf("email: receiver %q has no email_configs[%d]", b.Receiver, c.i)
	}
	return c.s.queueOne(ctx, b, c.i, cfgs[c.i])
}

// Validate checks the receivers' configs and templates as NewSender
// does, without touching a queue (config checks and reloads, which must
// not change the running transports when they fail).
func Validate(o SenderOptions) error {
	tmpl, err := NewTemplates(o.BaseDir, o.TemplateFiles...)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return validateReceivers(tmpl, o.Receivers, o.BaseDir, o.GrafanaURL, nil)
}

// Send renders the batch for each email config of its receiver and
// writes the messages into the queue (`hlalert notify test`; the daemon
// notifies each config as its own integration); it returns nil only
// when every message is on disk.
func (s *Sender) Send(ctx context.Context, b notify.Batch) error {
	cfgs, ok := s.receivers[b.Receiver]
	if !ok {
		return fmt.Errorf("email: receiver %q has no email config", b.Receiver)
	}
	for i, st := range cfgs {
		if _, err := s.queueOne(ctx, b, i, st); err != nil {
			return err
		}
	}
	return nil
}

// queueOne renders the batch for one email config and writes it into
// the queue. Retried batches (same Receiver, GroupKey, Seq and alerts)
// are not queued twice. Batches with only resolved alerts are skipped
// for configs with send_resolved: false.
func (s *Sender) queueOne(ctx context.Context, b notify.Batch, i int, st *settings) (retry bool, err error) {
	if err := ctx.Err(); err != nil {
		return true, fmt.Errorf("email: %w", err)
	}
	if !st.sendResolved() {
		var firing []notify.Alert
		for _, a := range b.Alerts {
			if a.Status != "resolved" {
				firing = append(firing, a)
			}
		}
		b.Alerts = firing
	}
	if len(b.Alerts) == 0 {
		return false, nil
	}
	tr := TransportName(b.Receiver, i)
	msg, key, err := s.compose(st, b, tr)
	if err != nil {
		return false, err
	}
	added, err := s.queue.Enqueue(key, msg)
	if err != nil {
		return true, fmt.Errorf("email: receiver %q: %w", b.Receiver, err)
	}
	if st.cfg.OutboxOnly {
		s.log.Info("no SMTP configured: notification kept in the outbox", "outbox", s.queue.dir, "key", key, "receiver", b.Receiver, "group_key", b.GroupKey, "seq", b.Seq, "alerts", len(b.Alerts), "new", added)
		return false, nil
	}
	s.log.Info("email queued", "receiver", b.Receiver, "transport", tr, "group_key", b.GroupKey, "seq", b.Seq, "alerts", len(b.Alerts), "new", added)
	return false, nil
}

func (s *Sender) compose(st *settings, b notify.Batch, transport string) ([]byte, string, error) {
	r, err := s.tmpl.render(st, NewData(b, s.grafana))
	if err != nil {
		return nil, "", fmt.Errorf("email: receiver %q: %w", b.Receiver, err)
	}
	key := batchKey(b, transport)
	root := threadRoot(b.Receiver, b.GroupKey, mailDomain(st.from))
	msg, err := compose(st, r, key, transport, root, s.now())
	if err != nil {
		return nil, "", fmt.Errorf("email: receiver %q: %w", b.Receiver, err)
	}
	return msg, key, nil
}

// Receivers lists the receivers that have e-mail configs.
func (s *Sender) Receivers() []string {
	out := make([]string, 0, len(s.receivers))
	for n := range s.receivers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SampleBatch is the batch `hlalert notify test` sends and config
// validation renders: one firing test alert.
func SampleBatch(receiver string) notify.Batch {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return notify.Batch{
		Receiver:    receiver,
		GroupKey:    "hlalert-test",
		GroupLabels: map[string]string{"alertname": "HlalertTestNotification"},
		Alerts: []notify.Alert{{
			Labels:      map[string]string{"alertname": "HlalertTestNotification", "severity": "none"},
			Annotations: map[string]string{"summary": "Test notification from hlalert", "description": "If you read this, e-mail delivery works."},
			StartsAt:    t,
			Status:      "firing",
			Fingerprint: "test",
		}},
		Seq: 1,
	}
}

// validateReceivers validates each config and renders a sample batch
// with it; use is called for each valid one.
func validateReceivers(tmpl *Templates, receivers map[string][]Config, baseDir, grafana string, use func(string, int, *settings)) error {
	names := make([]string, 0, len(receivers))
	for n := range receivers {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		for i, c := range receivers[name] {
			where := fmt.Sprintf("receiver %q email_configs[%d]", name, i)
			st, err := c.validate(where, baseDir)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if _, err := tmpl.render(st, NewData(SampleBatch(name), grafana)); err != nil {
				errs = append(errs, fmt.Errorf("%s: templates: %w", where, err))
				continue
			}
			if use != nil {
				use(name, i, st)
			}
		}
	}
	return errors.Join(errs...)
}
