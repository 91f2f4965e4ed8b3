package web

import (
	"strconv"
	"time"

	"github.com/hlalert/hlalert/alerts/alert"
)

// The JSON shapes of Prometheus' HTTP API (web/api/v1: /api/v1/rules and
// /api/v1/alerts), field for field, so that Grafana and Homepage read
// hlalert as they read Prometheus or vmalert.

type apiResponse struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
}

type rulesData struct {
	Groups []apiGroup `json:"groups"`
}

type alertsData struct {
	Alerts []apiAlert `json:"alerts"`
}

type apiGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Rules          []any     `json:"rules"`
	Interval       float64   `json:"interval"`
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

type apiAlertingRule struct {
	State          string            `json:"state"`
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Duration       float64           `json:"duration"`
	KeepFiringFor  float64           `json:"keepFiringFor"`
	Labels         map[string]string `json:"labels"`
	Annotations    map[string]string `json:"annotations"`
	Alerts         []apiAlert        `json:"alerts"` // null with exclude_alerts, as Prometheus
	Health         string            `json:"health"`
	LastError      string            `json:"lastError,omitempty"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	Type           string            `json:"type"`
}

type apiRecordingRule struct {
	Name           string            `json:"name"`
	Query          string            `json:"query"`
	Labels         map[string]string `json:"labels,omitempty"`
	Health         string            `json:"health"`
	LastError      string            `json:"lastError,omitempty"`
	EvaluationTime float64           `json:"evaluationTime"`
	LastEvaluation time.Time         `json:"lastEvaluation"`
	Type           string            `json:"type"`
}

type apiAlert struct {
	Labels          map[string]string `json:"labels"`
	Annotations     map[string]string `json:"annotations"`
	State           string            `json:"state"`
	ActiveAt        *time.Time        `json:"activeAt,omitempty"`
	KeepFiringSince *time.Time        `json:"keepFiringSince,omitempty"`
	Value           string            `json:"value"`
}

// stateName is the state as Prometheus' API spells it.
func stateName(s alert.State) string {
	switch s {
	case alert.StateFiring:
		return "firing"
	case alert.StatePending:
		return "pending"
	default:
		return "inactive"
	}
}

// active tells whether the API lists the alert: Prometheus lists pending
// and firing alerts only (resolved alerts kept for retention are not).
func active(a alert.Alert) bool {
	return a.State == alert.StatePending || a.State == alert.StateFiring
}

func toAPIAlert(a alert.Alert) apiAlert {
	out := apiAlert{
		Labels:      a.Labels.Map(),
		Annotations: nonNil(a.Annotations),
		State:       stateName(a.State),
		Value:       strconv.FormatFloat(a.LastValue, 'e', -1, 64),
	}
	if !a.ActiveAt.IsZero() {
		t := a.ActiveAt
		out.ActiveAt = &t
	}
	if !a.KeepFiringSince.IsZero() {
		t := a.KeepFiringSince
		out.KeepFiringSince = &t
	}
	return out
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// ruleState is the state of an alerting rule: its most severe alert's.
func ruleState(alerts []alert.Alert) string {
	st := alert.StateInactive
	for _, a := range alerts {
		if a.State == alert.StateFiring {
			return "firing"
		}
		if a.State == alert.StatePending {
			st = alert.StatePending
		}
	}
	return stateName(st)
}

func health(h string) string {
	switch h {
	case "ok", "err":
		return h
	default:
		return "unknown"
	}
}

// ruleFilter is the query of /api/v1/rules, as Prometheus reads it.
type ruleFilter struct {
	typ           string          // "alert", "record" or "" (all)
	names, groups map[string]bool // rule_name[], rule_group[]; nil: all
	files         map[string]bool // file[]; nil: all
	excludeAlerts bool            // exclude_alerts=true
}

func set(vs []string) map[string]bool {
	if len(vs) == 0 {
		return nil
	}
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func (f ruleFilter) filtering() bool {
	return f.typ != "" || f.names != nil || f.groups != nil || f.files != nil
}

// rulesResponse renders /api/v1/rules.
func rulesResponse(st alert.Status, f ruleFilter) apiResponse {
	typ := f.typ
	groups := make([]apiGroup, 0, len(st.Groups))
	for _, g := range st.Groups {
		if (f.groups != nil && !f.groups[g.Name]) || (f.files != nil && !f.files[g.File]) {
			continue
		}
		ag := apiGroup{
			Name:           g.Name,
			File:           g.File,
			Rules:          []any{},
			Interval:       g.Interval.Seconds(),
			EvaluationTime: g.LastDuration.Seconds(),
			LastEvaluation: g.LastEval,
		}
		for _, r := range g.Rules {
			if f.names != nil && !f.names[r.Name] {
				continue
			}
			switch r.Kind {
			case "alerting":
				if typ == "record" {
					continue
				}
				var alerts []apiAlert
				if !f.excludeAlerts {
					alerts = []apiAlert{}
				}
				for _, a := range r.Alerts {
					if active(a) && !f.excludeAlerts {
						alerts = append(alerts, toAPIAlert(a))
					}
				}
				ag.Rules = append(ag.Rules, apiAlertingRule{
					State:          ruleState(r.Alerts),
					Name:           r.Name,
					Query:          r.Expr,
					Duration:       r.For.Seconds(),
					KeepFiringFor:  r.KeepFiringFor.Seconds(),
					Labels:         nonNil(r.Labels),
					Annotations:    nonNil(r.Annotations),
					Alerts:         alerts,
					Health:         health(r.Health),
					LastError:      r.LastError,
					LastEvaluation: r.LastEval,
					Type:           "alerting",
				})
			default:
				if typ == "alert" {
					continue
				}
				ag.Rules = append(ag.Rules, apiRecordingRule{
					Name:           r.Name,
					Query:          r.Expr,
					Labels:         r.Labels,
					Health:         health(r.Health),
					LastError:      r.LastError,
					LastEvaluation: r.LastEval,
					Type:           "recording",
				})
			}
		}
		if f.filtering() && len(ag.Rules) == 0 {
			continue // Prometheus drops groups the filter emptied
		}
		groups = append(groups, ag)
	}
	return apiResponse{Status: "success", Data: rulesData{Groups: groups}}
}

// alertsResponse renders /api/v1/alerts: every pending or firing alert.
func alertsResponse(st alert.Status) apiResponse {
	alerts := []apiAlert{}
	for _, g := range st.Groups {
		for _, r := range g.Rules {
			for _, a := range r.Alerts {
				if active(a) {
					alerts = append(alerts, toAPIAlert(a))
				}
			}
		}
	}
	return apiResponse{Status: "success", Data: alertsData{Alerts: alerts}}
}
