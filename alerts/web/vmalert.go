package web

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/hlalert/hlalert/alerts/alert"
)

// VictoriaMetrics answers Grafana's datasource-managed alerting (the
// Alerting page lists rules by asking the datasource for /api/v1/rules)
// by forwarding to the rule evaluator given by -vmalert.proxyURL, as
// VictoriaMetrics v1.150.0's app/vmselect does: it forwards
//
//	/vmalert/...                        with the /vmalert prefix kept
//	/api/v1/rules, /rules
//	/api/v1/alerts, /alerts
//	/api/v1/notifiers, /notifiers
//
// and adds datasource_type=prometheus to requests whose User-Agent starts
// with "Grafana" (Grafana reads only Prometheus-style groups). hlalert
// answers those paths as vmalert's app/vmalert/web.go does: the JSON APIs
// with and without the /vmalert prefix, datasource_type filtering groups by
// their type, and the UI paths (/vmalert/, /vmalert/groups, /rules) with
// hlalert's status page.

// vmalertDatasourceTypes are the datasource_type values vmalert accepts,
// plus hlalert's own logql, each with the group types (GroupStatus.Type) it
// selects. prometheus selects the MetricsQL groups and hlalert's built-in
// group (its own health alerts, Prometheus-style); graphite and vlogs
// select nothing: hlalert has no such groups.
var vmalertDatasourceTypes = map[string][]string{
	"prometheus": {alert.GroupTypeMetricsQL, alert.GroupTypeBuiltin},
	"graphite":   nil,
	"vlogs":      nil,
	"logql":      {alert.GroupTypeLogQL},
}

// vmalertRoutes registers the rules and alerts APIs at both paths and the
// rest of what VictoriaMetrics forwards.
func (h *handler) vmalertRoutes(mux *http.ServeMux) {
	rules := h.byDatasourceType((*handler).rules)
	alerts := h.byDatasourceType((*handler).alerts)
	for _, p := range []string{"", "/vmalert"} {
		mux.HandleFunc("GET "+p+"/api/v1/rules", rules)
		mux.HandleFunc("GET "+p+"/api/v1/alerts", alerts)
		mux.HandleFunc("GET "+p+"/api/v1/notifiers", h.notifiers)
	}
	mux.HandleFunc("GET /vmalert/{$}", h.status)
	mux.HandleFunc("GET /vmalert/groups", h.status)
	mux.HandleFunc("GET /rules", h.status)
	mux.HandleFunc("GET /vmalert", func(w http.ResponseWriter, r *http.Request) {
		// Relative, as VictoriaMetrics does: a proxy in front may add a prefix.
		// (http.Redirect would make it absolute.)
		w.Header().Set("Location", "vmalert/")
		w.WriteHeader(http.StatusFound)
	})
}

// byDatasourceType applies vmalert's datasource_type parameter to serve:
// it sees only the groups of that type (and so only their alerts). An
// unknown value is refused with vmalert's message.
func (h *handler) byDatasourceType(serve func(*handler, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ds := r.URL.Query().Get("datasource_type")
		if ds == "" {
			serve(h, w, r)
			return
		}
		types, ok := vmalertDatasourceTypes[ds]
		if !ok {
			h.writeJSON(w, http.StatusBadRequest, apiError{"error", "bad_data",
				fmt.Sprintf(`invalid parameter "datasource_type": not supported value %q`, ds)})
			return
		}
		hh := *h
		hh.opts.Evaluator = typeFiltered{Evaluator: h.opts.Evaluator, types: types}
		serve(&hh, w, r)
	}
}

// typeFiltered shows only the groups of some types.
type typeFiltered struct {
	Evaluator
	types []string
}

func (f typeFiltered) Status() alert.Status {
	st := f.Evaluator.Status()
	groups := make([]alert.GroupStatus, 0, len(st.Groups))
	for _, g := range st.Groups {
		if slices.Contains(f.types, g.Type) {
			groups = append(groups, g)
		}
	}
	st.Groups = groups
	return st
}

type notifiersData struct {
	Notifiers []any `json:"notifiers"`
}

// notifiers answers vmalert's /api/v1/notifiers: hlalert sends e-mail
// itself and lists no Alertmanager targets there.
func (h *handler) notifiers(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: notifiersData{Notifiers: []any{}}})
}
