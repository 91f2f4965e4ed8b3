package daemon

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"

	"github.com/hlalert/hlalert/alerts/amhandoff"
	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/email"
	"github.com/hlalert/hlalert/alerts/evaluator"
	"github.com/hlalert/hlalert/alerts/httpclient"
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
	for _, r := range routing.Receivers {
		known[r.Name] = true
		for _, ec := range r.Email {
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
		Email:   email.SenderOptions{Receivers: receivers, BaseDir: base, TemplateFiles: slices.Concat(routing.Templates, n.Templates), GrafanaURL: n.GrafanaURL},
	}
	if err := email.Validate(p.Email); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", routing.File, err))
	}
	if h := n.Handoff; h != nil {
		c, err := httpclient.New("alertmanager_handoff", h.HTTP)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: notify.alertmanager_handoff: %w", cfg.Path, err))
		}
		p.Handoff = &amhandoff.Options{URLs: h.URLs, Client: c}
		if _, err := amhandoff.New(*p.Handoff); err != nil {
			errs = append(errs, fmt.Errorf("%s: notify.alertmanager_handoff: %w", cfg.Path, err))
		}
	}
	if w := n.Watchdog; w != nil {
		c, err := httpclient.New("watchdog", w.HTTP)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: notify.watchdog: %w", cfg.Path, err))
		}
		p.Watchdog = &watchdog.Options{URL: w.URL, Method: w.Method, Interval: w.Interval, Client: c}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// setup is a whole notification pipeline built from a Plan — routing,
// templates, e-mail transports, integrations, watchdog — of which nothing
// is live until install swaps it in.
type setup struct {
	routing  *notify.Config
	email    *email.Sender
	ints     notify.Integrations
	watchdog *watchdog.Watchdog // nil: none
}

// HandoffIntegration names the Alertmanager hand-off among a receiver's
// integrations.
const HandoffIntegration = "alertmanager"

// Compile-time checks of the integrations the daemon wires.
var (
	_ notify.Notifier    = (*amhandoff.Sender)(nil)
	_ evaluator.Notifier = (*notify.Dispatcher)(nil)
)

// build builds the pipeline of plan without touching the running one:
// every receiver's integrations are its e-mail configs ("email[i]") and,
// when configured, the Alertmanager hand-off ("alertmanager"), each
// notified on its own by the dispatcher.
func (p *pipeline) build(plan *Plan) (*setup, error) {
	eo := plan.Email
	eo.Queue, eo.Logger = p.queue, p.log
	es, err := email.NewSender(eo)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	s := &setup{routing: plan.Routing, email: es, ints: es.Integrations()}
	if plan.Handoff != nil {
		ho := *plan.Handoff
		ho.Logger = p.log
		h, err := amhandoff.New(ho)
		if err != nil {
			return nil, fmt.Errorf("notify: alertmanager_handoff: %w", err)
		}
		for _, r := range plan.Routing.Receivers {
			s.ints[r.Name] = append(s.ints[r.Name], notify.Integration{Name: HandoffIntegration, Notifier: h})
		}
	}
	if plan.Watchdog != nil {
		wo := *plan.Watchdog
		wo.Logger = p.log
		if !p.wdReg { // its metrics are registered once
			wo.Registerer = p.reg
		}
		if s.watchdog, err = watchdog.New(wo); err != nil {
			return nil, fmt.Errorf("notify: watchdog: %w", err)
		}
		p.wdReg = true
	}
	for r, list := range s.ints {
		names := make([]string, len(list))
		for i, in := range list {
			names[i] = in.Name
		}
		p.log.Debug("receiver integrations", "receiver", r, "integrations", names)
	}
	return s, nil
}

// install makes s the running pipeline: the queue's transports (those
// of receivers that are gone are removed; their queued mail stays parked
// in the outbox), then the dispatcher's routing and integrations in one
// step, then the watchdog.
func (p *pipeline) install(s *setup, disp *notify.Dispatcher) {
	s.email.Activate()
	if disp != nil {
		disp.ApplyConfig(s.routing, s.ints)
	}
	p.watchdog.Store(s.watchdog)
}
