package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hlalert/hlalert/alerts/yamlnode"
)

func (d *decoder) datasource(f yamlnode.Field) Datasource {
	var ds Datasource
	fs, ok := d.fields(f.Value, "datasource", "victoriametrics", "loki", "embedded")
	if !ok {
		return ds
	}
	if g, ok := fs["victoriametrics"]; ok {
		ds.VictoriaMetrics = d.victoriaMetrics(g.Value)
	}
	if g, ok := fs["loki"]; ok {
		ds.Loki = d.loki(g.Value)
	}
	if g, ok := fs["embedded"]; ok {
		ds.Embedded = d.embedded(g.Value)
		if _, vm := fs["victoriametrics"]; vm {
			d.errorf(g.Key, "datasource: set victoriametrics or embedded, not both (both answer MetricsQL groups)")
		}
	}
	if len(fs) == 0 {
		d.errorf(yamlnode.Resolve(f.Value), "datasource: set victoriametrics, loki or embedded")
	}
	return ds
}

func (d *decoder) victoriaMetrics(n *yaml.Node) *VictoriaMetrics {
	const what = "datasource.victoriametrics"
	fs, ok := d.fields(n, what, withKeys(httpKeys, "url", "params")...)
	if !ok {
		return nil
	}
	vm := &VictoriaMetrics{}
	if f, ok := fs["url"]; ok {
		vm.URL = d.url(f.Value, what+".url")
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.url: required", what)
	}
	if f, ok := fs["params"]; ok {
		vm.Params = d.params(f.Value, what+".params")
	}
	vm.HTTP = d.http(fs, what, DefaultTimeout)
	return vm
}

func (d *decoder) loki(n *yaml.Node) *Loki {
	const what = "datasource.loki"
	fs, ok := d.fields(n, what, withKeys(httpKeys, "url", "tenant")...)
	if !ok {
		return nil
	}
	l := &Loki{}
	if f, ok := fs["url"]; ok {
		l.URL = d.url(f.Value, what+".url")
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.url: required", what)
	}
	if f, ok := fs["tenant"]; ok {
		l.Tenant, _ = d.nonEmpty(f.Value, what+".tenant")
	}
	l.HTTP = d.http(fs, what, DefaultTimeout)
	return l
}

func (d *decoder) embedded(n *yaml.Node) *Embedded {
	const what = "datasource.embedded"
	fs, ok := d.fields(n, what, "targets")
	if !ok {
		return nil
	}
	e := &Embedded{}
	f, ok := fs["targets"]
	if !ok {
		d.errorf(yamlnode.Resolve(n), "%s.targets: required", what)
		return e
	}
	seen := map[string]bool{}
	for i, tn := range d.List(f.Value, what+".targets") {
		tw := fmt.Sprintf("%s.targets[%d]", what, i)
		tfs, ok := d.fields(tn, tw, withKeys(clientKeys, "job", "url", "interval", "timeout", "labels")...)
		if !ok {
			continue
		}
		t := Target{Interval: DefaultScrapeInterval}
		if g, ok := tfs["job"]; ok {
			t.Job, _ = d.nonEmpty(g.Value, tw+".job")
		} else {
			d.errorf(yamlnode.Resolve(tn), "%s.job: required", tw)
		}
		if g, ok := tfs["url"]; ok {
			t.URL = d.url(g.Value, tw+".url")
		} else {
			d.errorf(yamlnode.Resolve(tn), "%s.url: required", tw)
		}
		if g, ok := tfs["interval"]; ok {
			if v, ok := d.positiveDuration(g.Value, tw+".interval"); ok {
				t.Interval = v
			}
		}
		t.Timeout = t.Interval
		if t.Timeout > 10*time.Second {
			t.Timeout = 10 * time.Second
		}
		if g, ok := tfs["timeout"]; ok {
			if v, ok := d.positiveDuration(g.Value, tw+".timeout"); ok {
				if v > t.Interval {
					d.errorf(g.Value, "%s.timeout: %s is longer than the interval %s", tw, v, t.Interval)
				}
				t.Timeout = v
			}
		}
		if g, ok := tfs["labels"]; ok {
			t.Labels = d.labels(g.Value, tw+".labels")
			for _, reserved := range []string{"job", "instance", "__name__"} {
				if _, bad := t.Labels[reserved]; bad {
					d.errorf(g.Value, "%s.labels: %q is set by the scraper", tw, reserved)
				}
			}
		}
		key := t.Job + "\x00" + t.URL
		if t.Job != "" && t.URL != "" {
			if seen[key] {
				d.errorf(yamlnode.Resolve(tn), "%s: job %q with url %q is listed twice", tw, t.Job, t.URL)
			}
			seen[key] = true
		}
		t.HTTP = HTTP{Client: d.client(tfs, tw), Timeout: t.Timeout}
		e.Targets = append(e.Targets, t)
	}
	return e
}

func (d *decoder) remoteWrite(n *yaml.Node) *RemoteWrite {
	const what = "remote_write"
	fs, ok := d.fields(n, what, withKeys(httpKeys, "url")...)
	if !ok {
		return nil
	}
	rw := &RemoteWrite{}
	if f, ok := fs["url"]; ok {
		rw.URL = d.url(f.Value, what+".url")
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.url: required", what)
	}
	rw.HTTP = d.http(fs, what, DefaultTimeout)
	return rw
}

func (d *decoder) history(n *yaml.Node) *History {
	const what = "history"
	fs, ok := d.fields(n, what, withKeys(httpKeys, "url", "tenant")...)
	if !ok {
		return nil
	}
	h := &History{}
	if f, ok := fs["url"]; ok {
		h.URL = d.url(f.Value, what+".url")
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.url: required", what)
	}
	if f, ok := fs["tenant"]; ok {
		h.Tenant, _ = d.nonEmpty(f.Value, what+".tenant")
	}
	h.HTTP = d.http(fs, what, DefaultTimeout)
	return h
}

// params decodes extra query parameters: name → value or list of values.
func (d *decoder) params(n *yaml.Node, what string) url.Values {
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", what, d.KindName(n))
		return nil
	}
	out := url.Values{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlnode.Resolve(n.Content[i+1])
		w := what + "." + k.Value
		if k.Value == "" || strings.ContainsAny(k.Value, "&= ") {
			d.errorf(k, "%s: bad parameter name %q", what, k.Value)
			continue
		}
		if k.Value == "query" || k.Value == "time" || k.Value == "step" {
			d.errorf(k, "%s: %q is set by hlalert", what, k.Value)
			continue
		}
		if v.Kind == yaml.SequenceNode {
			for _, e := range v.Content {
				if s, ok := d.Str(e, w); ok {
					out.Add(k.Value, s)
				}
			}
			continue
		}
		if s, ok := d.Str(v, w); ok {
			out.Add(k.Value, s)
		}
	}
	return out
}

var mechanisms = []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "XOAUTH2"}

func (d *decoder) notify(n *yaml.Node) Notify {
	const what = "notify"
	var out Notify
	if yamlnode.IsNull(yamlnode.Resolve(n)) {
		return out
	}
	fs, ok := d.fields(n, what, "routing_file", "templates", "grafana_url", "receivers", "alertmanager_handoff", "watchdog")
	if !ok {
		return out
	}
	if f, ok := fs["routing_file"]; ok {
		out.RoutingFile = d.existingFile(f.Value, what+".routing_file")
	}
	if f, ok := fs["templates"]; ok {
		for _, tn := range d.List(f.Value, what+".templates") {
			s, ok := d.nonEmpty(tn, what+".templates")
			if !ok {
				continue
			}
			if _, err := filepath.Match(s, ""); err != nil {
				d.errorf(tn, "%s.templates: bad glob %q: %v", what, s, err)
				continue
			}
			p := d.path(s)
			if m, _ := filepath.Glob(p); len(m) == 0 {
				d.errorf(tn, "%s.templates: %q matches no file", what, s)
				continue
			}
			out.Templates = append(out.Templates, p)
		}
	}
	if f, ok := fs["grafana_url"]; ok {
		out.GrafanaURL = d.url(f.Value, what+".grafana_url")
	}
	if f, ok := fs["receivers"]; ok {
		rn := yamlnode.Resolve(f.Value)
		if rn.Kind != yaml.MappingNode {
			d.errorf(rn, "%s.receivers: expected a mapping of receiver names, got %s", what, d.KindName(rn))
		} else {
			out.Receivers = map[string]ReceiverExtras{}
			first := map[string]int{}
			for i := 0; i+1 < len(rn.Content); i += 2 {
				k, v := rn.Content[i], rn.Content[i+1]
				w := fmt.Sprintf("%s.receivers.%s", what, k.Value)
				if line, dup := first[k.Value]; dup {
					d.errorf(k, "%s", yamlnode.RepeatedKeyMsg(what+".receivers", k.Value, line))
					continue
				}
				first[k.Value] = k.Line
				out.Receivers[k.Value] = d.receiverExtras(v, w)
			}
		}
	}
	if f, ok := fs["alertmanager_handoff"]; ok {
		out.Handoff = d.handoff(f.Value)
	}
	if f, ok := fs["watchdog"]; ok {
		out.Watchdog = d.watchdog(f.Value)
	}
	return out
}

func (d *decoder) receiverExtras(n *yaml.Node, what string) ReceiverExtras {
	var r ReceiverExtras
	fs, ok := d.fields(n, what, "send_resolved", "auth_mechanism", "auth_token_file")
	if !ok {
		return r
	}
	if f, ok := fs["send_resolved"]; ok {
		if b, ok := d.Bool(f.Value, what+".send_resolved"); ok {
			r.SendResolved = &b
		}
	}
	if f, ok := fs["auth_mechanism"]; ok {
		if s, ok := d.nonEmpty(f.Value, what+".auth_mechanism"); ok {
			m := strings.ToUpper(s)
			known := false
			for _, k := range mechanisms {
				known = known || k == m
			}
			if !known {
				d.errorf(f.Value, "%s.auth_mechanism: %q: want one of %s", what, s, strings.Join(mechanisms, ", "))
			} else {
				r.AuthMechanism = m
			}
		}
	}
	if f, ok := fs["auth_token_file"]; ok {
		r.AuthTokenFile = d.existingFile(f.Value, what+".auth_token_file")
		if r.AuthMechanism != "XOAUTH2" {
			d.errorf(f.Key, "%s.auth_token_file: only used with auth_mechanism: XOAUTH2", what)
		}
	} else if r.AuthMechanism == "XOAUTH2" {
		d.errorf(yamlnode.Resolve(n), "%s.auth_token_file: required with auth_mechanism: XOAUTH2", what)
	}
	return r
}

func (d *decoder) handoff(n *yaml.Node) *Handoff {
	const what = "notify.alertmanager_handoff"
	fs, ok := d.fields(n, what, withKeys(httpKeys, "urls")...)
	if !ok {
		return nil
	}
	h := &Handoff{HTTP: d.http(fs, what, 10*time.Second)}
	if f, ok := fs["urls"]; ok {
		for _, un := range d.List(f.Value, what+".urls") {
			if u := d.url(un, what+".urls"); u != "" {
				h.URLs = append(h.URLs, u)
			}
		}
		if rn := yamlnode.Resolve(f.Value); rn.Kind == yaml.SequenceNode && len(rn.Content) == 0 {
			d.errorf(rn, "%s.urls: at least one URL is required", what)
		}
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.urls: required", what)
	}
	return h
}

func (d *decoder) watchdog(n *yaml.Node) *Watchdog {
	const what = "notify.watchdog"
	fs, ok := d.fields(n, what, withKeys(httpKeys, "url", "method", "interval")...)
	if !ok {
		return nil
	}
	w := &Watchdog{Method: "GET", Interval: time.Minute, HTTP: d.http(fs, what, 10*time.Second)}
	if f, ok := fs["url"]; ok {
		w.URL = d.url(f.Value, what+".url")
	} else {
		d.errorf(yamlnode.Resolve(n), "%s.url: required", what)
	}
	if f, ok := fs["method"]; ok {
		if s, ok := d.nonEmpty(f.Value, what+".method"); ok {
			switch m := strings.ToUpper(s); m {
			case "GET", "POST":
				w.Method = m
			default:
				d.errorf(f.Value, "%s.method: %q: want GET or POST", what, s)
			}
		}
	}
	if f, ok := fs["interval"]; ok {
		if v, ok := d.positiveDuration(f.Value, what+".interval"); ok {
			w.Interval = v
		}
	}
	return w
}
