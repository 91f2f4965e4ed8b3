package evaluator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/datasource"
	"github.com/hlalert/hlalert/alerts/rule"
	"github.com/hlalert/hlalert/alerts/rulefmt"
	"github.com/hlalert/hlalert/alerts/series"
)

// querier builds the querier of one group: VictoriaMetrics with the
// query step (as vmalert's -datasource.queryStep; 0: the group interval) and
// the group's params, Loki, or the embedded engine with the same step.
func (e *Evaluator) querier(cfg *config.Config, engine *embeddedEngine, ds string, def rulefmt.Group, interval time.Duration) (rule.Querier, error) {
	if e.deps.NewQuerier != nil {
		return e.deps.NewQuerier(ds, def, interval)
	}
	step := cfg.QueryStep
	if step == 0 {
		step = interval
	}
	switch ds {
	case DSVictoriaMetrics:
		vm := cfg.Datasource.VictoriaMetrics
		c, err := e.deps.HTTPClient("datasource.victoriametrics", vm.HTTP)
		if err != nil {
			return nil, fmt.Errorf("datasource.victoriametrics: %w", err)
		}
		params := url.Values{}
		for k, vs := range vm.Params {
			params[k] = append(params[k], vs...)
		}
		for k, vs := range def.Params {
			params[k] = append([]string(nil), vs...) // the group's override the config's
		}
		p, err := datasource.NewPrometheus(datasource.PrometheusOptions{URL: vm.URL, Step: step, Params: params, HTTP: datasource.HTTPOptions{Client: c}})
		if err != nil {
			return nil, fmt.Errorf("datasource.victoriametrics: %w", err)
		}
		return p, nil
	case DSLoki:
		l := cfg.Datasource.Loki
		c, err := e.deps.HTTPClient("datasource.loki", l.HTTP)
		if err != nil {
			return nil, fmt.Errorf("datasource.loki: %w", err)
		}
		if len(def.Params) > 0 {
			return nil, errors.New("params: not supported for logql groups")
		}
		q, err := datasource.NewLoki(datasource.LokiOptions{URL: l.URL, Tenant: l.Tenant, HTTP: datasource.HTTPOptions{Client: c}})
		if err != nil {
			return nil, fmt.Errorf("datasource.loki: %w", err)
		}
		return q, nil
	case DSEmbedded:
		return rule.QuerierFunc(func(ctx context.Context, expr string, ts time.Time) (series.Vector, error) {
			return engine.eng.Query(ctx, expr, ts, step)
		}), nil
	case DSEmbeddedLogQL:
		return rule.QuerierFunc(engine.logs.QueryVector), nil
	}
	return nil, fmt.Errorf("unknown datasource %q", ds)
}

// dsHealth counts a datasource's consecutive failed evaluations.
type dsHealth struct {
	url       string
	evaluated bool
	failures  int
	since     time.Time // first failure of the current run
	lastErr   string
}

func (e *Evaluator) resetDatasources(cfg *config.Config) {
	urls := map[string]string{}
	if vm := cfg.Datasource.VictoriaMetrics; vm != nil {
		urls[DSVictoriaMetrics] = vm.URL
	}
	if l := cfg.Datasource.Loki; l != nil {
		urls[DSLoki] = l.URL
	}
	if cfg.Datasource.Embedded != nil {
		urls[DSEmbedded] = ""
		urls[DSEmbeddedLogQL] = ""
	}
	for name, u := range urls {
		if h, ok := e.ds[name]; ok {
			h.url = u
			continue
		}
		e.ds[name] = &dsHealth{url: u}
	}
	for name := range e.ds {
		if _, ok := urls[name]; !ok {
			delete(e.ds, name)
		}
	}
}

// unreachable tells whether err means the datasource did not answer (as
// opposed to answering that the query is wrong): transport errors,
// timeouts and 5xx answers.
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se *datasource.StatusError
	return errors.As(err, &se) && se.ServerSide()
}

// DatasourceDownAlert is the built-in alert about an unreachable datasource.
const DatasourceDownAlert = "HlalertDatasourceDown"

const (
	builtinGroup = rulefmt.ReservedGroup
	builtinFile  = "<builtin>"
)

// datasourceResult updates a datasource's health after one group
// evaluation and advances the built-in alert. It returns true when the
// alert's state changed. Called with e.mu held.
func (e *Evaluator) datasourceResult(name string, failed bool, errMsg string, ts time.Time) (changed bool) {
	h, ok := e.ds[name]
	if !ok {
		return false
	}
	h.evaluated = true
	labels := series.FromStrings(rule.AlertNameLabel, DatasourceDownAlert, rule.AlertGroupNameLabel, builtinGroup,
		"datasource", name, "severity", "critical")
	if ext := e.cfg.ExternalLabels; len(ext) > 0 {
		m := labels.Map()
		for k, v := range ext {
			if _, set := m[k]; !set {
				m[k] = v
			}
		}
		labels = series.FromMap(m)
	}
	key := builtinKey(labels)
	a := e.builtin[key]
	if failed {
		if h.failures == 0 {
			h.since = ts
		}
		h.failures++
		h.lastErr = errMsg
		if h.failures < e.cfg.DatasourceDownAfter {
			return false
		}
		if a != nil && a.State == rule.StateFiring {
			a.LastValue = float64(h.failures)
			return false
		}
		e.builtin[key] = &rule.Alert{
			Labels: labels, State: rule.StateFiring, ActiveAt: h.since, FiredAt: ts, LastValue: float64(h.failures),
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("hlalert cannot query its %s datasource", name),
				"description": fmt.Sprintf("%d evaluations in a row failed since %s; alert states are held, not resolved, until it answers again. Last error: %s", h.failures, h.since.UTC().Format(time.RFC3339), errMsg),
			},
		}
		return true
	}
	h.failures, h.lastErr, h.since = 0, "", time.Time{}
	if a != nil && a.State == rule.StateFiring {
		a.State = rule.StateInactive
		a.ResolvedAt = ts
		return true
	}
	if a != nil && a.State == rule.StateInactive && ts.Sub(a.ResolvedAt) > rule.ResolvedRetention {
		delete(e.builtin, key)
		return true
	}
	return false
}
