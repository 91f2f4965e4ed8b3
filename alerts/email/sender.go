// Package email sends alert notifications by e-mail: batches from the
// notification pipeline (notify.Batch) are rendered with Alertmanager's
// template package, written durably into the outbox folder, and delivered
// by a background deliverer over SMTP with go-mail (implicit TLS or
// required STARTTLS, PLAIN/LOGIN/CRAM-MD5/SCRAM/XOAUTH2), with retries,
// exponential backoff and exactly-once delivery across restarts (see
// queue.go for the crash windows).
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

// Sender implements notify.Sender for e-mail receivers.
type Sender struct {
	tmpl      *Templates
	receivers map[string][]*settings
	grafana   string
	queue     *Queue
	log       *slog.Logger
	now       func() time.Time
}

var _ notify.Sender = (*Sender)(nil)

// TransportName names the transport of a receiver's i-th email config.
func TransportName(receiver string, i int) string { return receiver + "#" + strconv.Itoa(i) }

// NewSender validates every config (all errors, each naming receiver and
// field), loads the templates, renders a sample batch with each config
// (a template that fails or renders empty is a config error), and
// registers one SMTP transport per config with the queue.
func NewSender(o SenderOptions) (*Sender, error) {
	if o.Queue == nil {
		return nil, errors.New("email: queue: required")
	}
	tmpl, err := NewTemplates(o.BaseDir, o.TemplateFiles...)
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	s := &Sender{tmpl: tmpl, receivers: map[string][]*settings{}, grafana: o.GrafanaURL, queue: o.Queue, log: o.Logger, now: o.Now}
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
			o.Queue.Hold(TransportName(name, i))
			return
		}
		o.Queue.SetTransport(TransportName(name, i), &smtpTransport{s: st, timeout: timeout})
	})
	if err != nil {
		return nil, err
	}
	return s, nil
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
// writes the messages into the queue; it returns nil only when every
// message is on disk. Retried batches (same Receiver, GroupKey, Seq and
// alerts) are not queued twice. Batches with only resolved alerts are
// skipped for configs with send_resolved: false.
func (s *Sender) Send(ctx context.Context, b notify.Batch) error {
	cfgs, ok := s.receivers[b.Receiver]
	if !ok {
		return fmt.Errorf("email: receiver %q has no email config", b.Receiver)
	}
	if len(b.Alerts) == 0 {
		return nil
	}
	for i, st := range cfgs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("email: %w", err)
		}
		bb := b
		if !st.sendResolved() {
			bb.Alerts = nil
			for _, a := range b.Alerts {
				if a.Status != "resolved" {
					bb.Alerts = append(bb.Alerts, a)
				}
			}
			if len(bb.Alerts) == 0 {
				continue
			}
		}
		tr := TransportName(b.Receiver, i)
		msg, key, err := s.compose(st, bb, tr)
		if err != nil {
			return err
		}
		added, err := s.queue.Enqueue(key, msg)
		if err != nil {
			return fmt.Errorf("email: receiver %q: %w", b.Receiver, err)
		}
		if st.cfg.OutboxOnly {
			s.log.Info("no SMTP configured: notification kept in the outbox", "outbox", s.queue.dir, "key", key, "receiver", b.Receiver, "group_key", b.GroupKey, "seq", b.Seq, "alerts", len(bb.Alerts), "new", added)
			continue
		}
		s.log.Info("email queued", "receiver", b.Receiver, "transport", tr, "group_key", b.GroupKey, "seq", b.Seq, "alerts", len(bb.Alerts), "new", added)
	}
	return nil
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
