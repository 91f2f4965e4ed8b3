// Package web is the HTTP side of `hlalert run`: /metrics, the Prometheus
// API endpoints /api/v1/rules and /api/v1/alerts (in Prometheus' JSON shape,
// so Grafana and Homepage can read them), /-/healthy, /-/ready,
// POST /-/reload and a small server-rendered status page at /.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
	"github.com/hlalert/hlalert/alerts/notify"
	"github.com/hlalert/hlalert/alerts/silence"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Evaluator is what the HTTP side needs from the daemon.
type Evaluator interface {
	// Status returns a snapshot of groups, rules, alerts and datasources.
	Status() alert.Status
	// Ready tells whether the daemon has loaded its config and restored
	// its state.
	Ready() bool
	// Reload re-reads the config; an error leaves the running config in
	// place and is shown to the caller.
	Reload(ctx context.Context) error
}

// Options configures the handler.
type Options struct {
	Evaluator Evaluator
	Gatherer  prometheus.Gatherer // served at /metrics
	Logger    *slog.Logger        // nil: slog.Default()
	// ReloadTimeout bounds a POST /-/reload; 0 means one minute.
	ReloadTimeout time.Duration
	// Silences, when set, is mounted at /api/v1/silences and
	// /api/v1/silence/{id} (silence.NewHandler) and its List shown on the
	// status page. nil: the page says notifications have no silences.
	Silences *silence.Store
	// Integrations, when set, lists how each notification integration
	// fares (notify.Dispatcher) on the status page.
	Integrations IntegrationLister
	// LogPush, when set, serves Loki's push API at POST
	// /loki/api/v1/push (the standalone mode's log receiver).
	LogPush http.Handler
}

// IntegrationLister reports the notification integrations' status.
type IntegrationLister interface {
	IntegrationStatus() []notify.IntegrationStatus
}

func (o Options) validate() error {
	var errs []error
	if o.Evaluator == nil {
		errs = append(errs, errors.New("web: Evaluator is required"))
	}
	if o.Gatherer == nil {
		errs = append(errs, errors.New("web: Gatherer is required"))
	}
	if o.ReloadTimeout < 0 {
		errs = append(errs, fmt.Errorf("web: ReloadTimeout must not be negative, got %s", o.ReloadTimeout))
	}
	return errors.Join(errs...)
}

//go:embed templates/status.html
var templateFS embed.FS

type handler struct {
	opts Options
	log  *slog.Logger
	page *template.Template
}

// New returns the daemon's HTTP handler.
func New(opts Options) (http.Handler, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ReloadTimeout == 0 {
		opts.ReloadTimeout = time.Minute
	}
	page, err := template.New("status.html").Funcs(pageFuncs).ParseFS(templateFS, "templates/status.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse status page: %w", err)
	}
	h := &handler{opts: opts, log: opts.Logger, page: page}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slogErrorLog{opts.Logger}}))
	h.vmalertRoutes(mux) // /api/v1/rules, /api/v1/alerts, and what VictoriaMetrics' -vmalert.proxyURL forwards
	mux.HandleFunc("GET /-/healthy", h.healthy)
	mux.HandleFunc("GET /-/ready", h.ready)
	mux.HandleFunc("POST /-/reload", h.reload)
	mux.HandleFunc("GET /{$}", h.status)
	if opts.LogPush != nil {
		mux.Handle("POST /loki/api/v1/push", opts.LogPush)
	}
	if opts.Silences != nil {
		sh := silence.NewHandler(opts.Silences, opts.Logger)
		mux.Handle("/api/v1/silences", sh)
		mux.Handle("/api/v1/silence/", sh)
	}
	return sameOrigin(mux, opts.Logger), nil
}

type slogErrorLog struct{ l *slog.Logger }

func (s slogErrorLog) Println(v ...any) { s.l.Error("serve /metrics", "err", fmt.Sprint(v...)) }

func (h *handler) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		h.log.Warn("write API response", "err", err)
	}
}

type apiError struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
}

func (h *handler) rules(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := func(format string, args ...any) {
		h.writeJSON(w, http.StatusBadRequest, apiError{"error", "bad_data", fmt.Sprintf(format, args...)})
	}
	// Filters of newer Prometheus versions that hlalert does not apply
	// are refused rather than ignored (an ignored filter answers more
	// than was asked); other parameters are ignored, as Prometheus does.
	for _, k := range []string{"match[]", "group_limit", "group_next_token"} {
		if q.Has(k) {
			bad("unsupported parameter %q: hlalert filters by type, rule_name[], rule_group[], file[] and exclude_alerts", k)
			return
		}
	}
	f := ruleFilter{typ: q.Get("type"), names: set(q["rule_name[]"]), groups: set(q["rule_group[]"]), files: set(q["file[]"])}
	if f.typ != "" && f.typ != "alert" && f.typ != "record" {
		bad("unsupported type %q: want \"alert\" or \"record\"", f.typ)
		return
	}
	if v := strings.ToLower(q.Get("exclude_alerts")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("exclude_alerts: %q is not a boolean", v)
			return
		}
		f.excludeAlerts = b
	}
	h.writeJSON(w, http.StatusOK, rulesResponse(h.opts.Evaluator.Status(), f))
}

func (h *handler) alerts(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, http.StatusOK, alertsResponse(h.opts.Evaluator.Status()))
}

func (h *handler) healthy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "hlalert is Healthy.")
}

func (h *handler) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !h.opts.Evaluator.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "hlalert is not ready.")
		return
	}
	fmt.Fprintln(w, "hlalert is Ready.")
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ReloadTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := h.opts.Evaluator.Reload(ctx); err != nil {
		h.log.Error("reload via HTTP failed; the running config is kept", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "reload failed: %v\n", err)
		return
	}
	h.log.Info("reloaded via HTTP")
	fmt.Fprintln(w, "reloaded")
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	data := buildPage(h.opts.Evaluator.Status(), h.opts.Evaluator.Ready())
	if st := h.opts.Silences; st != nil {
		data.SilencesOn = true
		sils, err := st.List()
		if err != nil {
			data.SilencesErr = err.Error()
		}
		now := time.Now()
		for _, s := range sils {
			if state := s.State(now); state != silence.StateExpired {
				ms := make([]string, len(s.Matchers))
				for i, m := range s.Matchers {
					ms[i] = m.String()
				}
				data.Silences = append(data.Silences, pageSilence{ID: s.ID, State: state, Matchers: strings.Join(ms, ", "),
					StartsAt: s.StartsAt, EndsAt: s.EndsAt, CreatedBy: s.CreatedBy, AuthUser: s.AuthUser, Comment: s.Comment})
			}
		}
	}
	if l := h.opts.Integrations; l != nil {
		data.IntegrationsOn = true
		data.Integrations = l.IntegrationStatus()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := h.page.Execute(w, data); err != nil {
		h.log.Warn("render status page", "err", err)
	}
}

// pageData is what the status page shows.
type pageData struct {
	Ready        bool
	Status       alert.Status
	Active       []pageAlert
	FiringCount  int
	PendingCount int
	SilencesOn   bool
	SilencesErr  string
	Silences     []pageSilence // pending and active
	// IntegrationsOn: a notification pipeline runs; Integrations: its
	// integrations' status.
	IntegrationsOn bool
	Integrations   []notify.IntegrationStatus
}

type pageSilence struct {
	ID, State, Matchers string
	StartsAt, EndsAt    time.Time
	CreatedBy, Comment  string
	AuthUser            string // the basic-auth user who created it, if any
}

type pageAlert struct {
	Group, Rule string
	State       string
	Labels      [][2]string
	Annotations [][2]string
	ActiveAt    time.Time
	Value       string
}

func buildPage(st alert.Status, ready bool) pageData {
	d := pageData{Ready: ready, Status: st}
	for _, g := range st.Groups {
		for _, r := range g.Rules {
			for _, a := range r.Alerts {
				if !active(a) {
					continue
				}
				pa := pageAlert{Group: g.Name, Rule: r.Name, State: stateName(a.State), ActiveAt: a.ActiveAt, Value: strconv.FormatFloat(a.LastValue, 'g', -1, 64)}
				for _, l := range a.Labels {
					pa.Labels = append(pa.Labels, [2]string{l.Name, l.Value})
				}
				pa.Annotations = sortedPairs(a.Annotations)
				d.Active = append(d.Active, pa)
				if pa.State == "firing" {
					d.FiringCount++
				} else {
					d.PendingCount++
				}
			}
		}
	}
	sort.SliceStable(d.Active, func(i, j int) bool {
		a, b := d.Active[i], d.Active[j]
		if a.State != b.State {
			return a.State == "firing"
		}
		return a.ActiveAt.Before(b.ActiveAt)
	})
	return d
}

func sortedPairs(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for k, v := range m {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

var pageFuncs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format(time.RFC3339)
	},
	"dur": func(d time.Duration) string {
		if d == 0 {
			return "0s"
		}
		return d.Round(time.Millisecond).String()
	},
	"pairs": sortedPairs,
	"state": stateName,
	"activeOnly": func(r alert.RuleStatus) int {
		n := 0
		for _, a := range r.Alerts {
			if active(a) {
				n++
			}
		}
		return n
	},
}
