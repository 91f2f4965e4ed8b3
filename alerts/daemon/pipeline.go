package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"

	"github.com/hlalert/hlalert/alerts/amhandoff"
	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/email"
	"github.com/hlalert/hlalert/alerts/notify"
	"github.com/hlalert/hlalert/alerts/watchdog"
)

// BuiltinRouting is the routing used when notify.routing_file is not set:
// every alert is its own group, notified soon after it fires and after it
// resolves, to the receiver "outbox", whose messages stay in outbox_dir
// (no SMTP is configured). Its smarthost only satisfies Alertmanager's
// parser: outbox-only configs never connect.
const BuiltinRouting = `route:
  receiver: outbox
  group_by: ['...']
  group_wait: 10s
  group_interval: 30s
  repeat_interval: 4h
receivers:
  - name: outbox
    email_configs:
      - to: operator@localhost
        from: hlalert@localhost
        smarthost: localhost:25
`

// BuiltinReceiver is the receiver of BuiltinRouting.
const BuiltinReceiver = "outbox"

// Plan is a validated notification setup: the routing and the e-mail
// sender's options (without the queue), ready to apply.
type Plan struct {
	Routing *notify.Config
	Email   email.SenderOptions
	Handoff *amhandoff.Options // nil: none
	// Watchdog's options; nil: none.
	Watchdog *watchdog.Options
}

// PlanNotify validates cfg's notify section: the routing file (or the
// built-in one), each receiver's e-mail configs with hlalert's extras,
// the templates (rendered once per config) and the hand-off. All errors
// are joined; routing-file errors name file:line:col.
func PlanNotify(cfg *config.Config) (*Plan, error) {
	n := cfg.Notify
	var routing *notify.Config
	var err error
	if n.RoutingFile != "" {
		routing, err = notify.LoadConfig(n.RoutingFile)
	} else {
		routing, err = notify.Load("built-in routing (notify.routing_file not set)", []byte(BuiltinRouting))
	}
	if err != nil {
		return nil, err
	}
	var errs []error
	receivers := map[string][]email.Config{}
	known := map[string]bool{}
	for _, r := range routing.AM.Receivers {
		known[r.Name] = true
		for _, ec := range r.EmailConfigs {
			c := email.FromAM(ec)
			if n.RoutingFile == "" {
				c.Smarthost, c.OutboxOnly = "", true
			}
			if x, ok := n.Receivers[r.Name]; ok {
				if x.SendResolved != nil {
					v := *x.SendResolved
					c.SendResolved = &v
				}
				if x.AuthMechanism != "" {
					c.AuthMechanism = x.AuthMechanism
				}
				if x.AuthTokenFile != "" {
					c.AuthTokenFile = x.AuthTokenFile
				}
			}
			receivers[r.Name] = append(receivers[r.Name], c)
		}
	}
	names := make([]string, 0, len(n.Receivers))
	for name := range n.Receivers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case !known[name]:
			errs = append(errs, fmt.Errorf("%s: notify.receivers.%s: no receiver %q in the routing (%s)", cfg.Path, name, name, routing.File))
		case len(receivers[name]) == 0:
			errs = append(errs, fmt.Errorf("%s: notify.receivers.%s: receiver %q has no email_configs to apply it to", cfg.Path, name, name))
		}
	}
	base := cfg.Dir
	if routing.File != "" && n.RoutingFile != "" {
		base = filepath.Dir(n.RoutingFile)
	}
	p := &Plan{
		Routing: routing,
		Email:   email.SenderOptions{Receivers: receivers, BaseDir: base, TemplateFiles: n.Templates, GrafanaURL: n.GrafanaURL},
	}
	if err := email.Validate(p.Email); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", routing.File, err))
	}
	if h := n.Handoff; h != nil {
		p.Handoff = &amhandoff.Options{URLs: h.URLs, Timeout: h.Timeout, BearerToken: h.BearerToken}
		if _, err := amhandoff.New(*p.Handoff); err != nil {
			errs = append(errs, fmt.Errorf("%s: notify.alertmanager_handoff: %w", cfg.Path, err))
		}
	}
	if w := n.Watchdog; w != nil {
		p.Watchdog = &watchdog.Options{URL: w.URL, Method: w.Method, Interval: w.Interval, Timeout: w.Timeout}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// fanout hands each batch to the Alertmanager hand-off (when configured)
// and to the e-mail sender (when the receiver has e-mail configs). Both
// are idempotent per batch, so a retry after one of them failed is safe.
type fanout struct {
	email   *email.Sender
	hasMail map[string]bool
	handoff *amhandoff.Sender
	log     *slog.Logger
}

func (f *fanout) Send(ctx context.Context, b notify.Batch) error {
	if f.handoff != nil {
		if err := f.handoff.Send(ctx, b); err != nil {
			return fmt.Errorf("alertmanager hand-off: %w", err)
		}
	}
	if f.hasMail[b.Receiver] {
		return f.email.Send(ctx, b)
	}
	if f.handoff == nil {
		f.log.Warn("receiver has no e-mail configs: batch dropped", "receiver", b.Receiver, "group", b.GroupKey)
	}
	return nil
}
