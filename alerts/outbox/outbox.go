// Package outbox is the notifier of `hlalert run` when no SMTP server is
// configured: each notification (the alerts of one rule that fired, or
// resolved, together) is rendered as an RFC 5322 e-mail and written
// atomically as an .eml file into the outbox folder, and logged.
//
// File names are the event time and a hash of the event, so a retried
// notification replaces nothing and adds nothing. The rendering (Compose,
// Message.Subject, Message.Body, Message.RFC5322) is exported for the SMTP
// notifier to reuse.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"

	"github.com/hlalert/hlalert/alerts/evaluator"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configures an Outbox.
type Options struct {
	Dir string // the outbox folder; created when missing
	// From and To are the message's addresses (RFC 5322, e.g.
	// "hlalert <hlalert@nas.home>"). Until the notification settings
	// exist they are placeholders: empty From is DefaultFrom, empty To is
	// DefaultTo.
	From string
	To   []string
	// Logger: nil: slog.Default().
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics not registered
}

// Placeholder addresses used when Options leave them empty.
const (
	DefaultFrom = "hlalert <hlalert@localhost>"
	DefaultTo   = "root@localhost"
)

// Outbox implements evaluator.Notifier by writing .eml files.
type Outbox struct {
	dir     string
	env     Envelope
	log     *slog.Logger
	written prometheus.Counter
	failed  prometheus.Counter
}

var _ evaluator.Notifier = (*Outbox)(nil)

// New validates the options and creates the folder.
func New(opts Options) (*Outbox, error) {
	var errs []error
	if opts.From == "" {
		opts.From = DefaultFrom
	}
	if len(opts.To) == 0 {
		opts.To = []string{DefaultTo}
	}
	if opts.Dir == "" {
		errs = append(errs, errors.New("outbox: dir: required"))
	}
	from, err := mail.ParseAddress(opts.From)
	if err != nil {
		errs = append(errs, fmt.Errorf("outbox: from: %q: %w", opts.From, err))
	}
	var to []*mail.Address
	for i, s := range opts.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("outbox: to[%d]: %q: %w", i, s, err))
			continue
		}
		to = append(to, a)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("outbox: create folder: %w", err)
	}
	o := &Outbox{
		dir: opts.Dir,
		env: Envelope{From: from, To: to},
		log: opts.Logger,
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hlalert_outbox_messages_written_total",
			Help: "Notification e-mails written to the outbox folder.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hlalert_outbox_write_failures_total",
			Help: "Notification e-mails that could not be written to the outbox folder.",
		}),
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{o.written, o.failed} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("outbox: register metrics: %w", err)
			}
		}
	}
	return o, nil
}

// Notify writes one .eml file per message. A message whose file exists
// already (a retry) is not written again. The error joins every failure;
// the evaluator retries the whole batch, and the files that were written
// are then skipped.
func (o *Outbox) Notify(ctx context.Context, ns []evaluator.Notification) error {
	var errs []error
	for _, m := range Compose(ns) {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("outbox: %w", err))
			break
		}
		path := filepath.Join(o.dir, m.FileName())
		if _, err := os.Stat(path); err == nil {
			o.log.Info("notification already in the outbox", "file", path, "status", m.Status, "group", m.Group, "rule", m.Rule)
			continue
		}
		if err := writeAtomic(path, m.RFC5322(o.env)); err != nil {
			o.failed.Inc()
			o.log.Error("write notification to the outbox", "file", path, "err", err)
			errs = append(errs, err)
			continue
		}
		o.written.Inc()
		o.log.Info("notification written to the outbox", "file", path, "status", m.Status, "group", m.Group, "rule", m.Rule,
			"alerts", len(m.Alerts), "subject", m.Subject())
	}
	return errors.Join(errs...)
}

// writeAtomic writes data to path through a temp file in the same folder:
// write, fsync, rename, fsync the folder. A crash leaves either no file or
// the whole file (plus, at worst, a stray .tmp file).
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("outbox: create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("outbox: write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("outbox: fsync %s: %w", f.Name(), err)
	}
	if err := f.Chmod(0o640); err != nil {
		f.Close()
		return fmt.Errorf("outbox: chmod %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("outbox: close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("outbox: rename to %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("outbox: open folder to fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("outbox: fsync folder %s: %w", dir, err)
	}
	return nil
}
