package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hlalert/hlalert/exporters/backup"
	"github.com/hlalert/hlalert/exporters/cmdrun"
	"github.com/hlalert/hlalert/exporters/deploy"
	"github.com/hlalert/hlalert/exporters/nvr"
	"github.com/hlalert/hlalert/exporters/serve"
	"github.com/hlalert/hlalert/exporters/smart"
	"github.com/hlalert/hlalert/exporters/zfs"
)

// deps are what main hands every collector.
type deps struct {
	runner cmdrun.Runner
	now    func() time.Time
	http   *http.Client
	log    *slog.Logger
}

// factory knows one collector: its default schedule and how to build it
// from its configuration section.
type factory struct {
	name     string
	interval time.Duration
	timeout  time.Duration
	// build decodes the section strictly (an empty section means "all
	// defaults") and constructs the collector.
	build func(sec serve.Section, d deps) (serve.Collector, error)
	// metrics lists what the collector can emit (the catalog's source).
	metrics func() []*serve.MetricDef
	// budget, when set, is the longest one update of the configured
	// collector can take (its own timeouts back to back): the default
	// update timeout, and the least an explicit update_timeout may be.
	budget func(sec serve.Section) (time.Duration, func(time.Duration) error)
}

// decode strictly decodes a section into a zero Config and validates it.
// Decoding problems are at their file:line:col; Validate's are
// *yamlnode.FieldErrors, which buildJobs places (serve.Section.Place) with
// every other problem of building the collector.
func decode[C interface{ Validate() error }](sec serve.Section) (C, error) {
	var cfg C
	if err := sec.Decode(&cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// factories lists every collector hlexporter knows, in catalog order.
func factories() []factory {
	return []factory{
		{name: "zfs", interval: time.Minute, timeout: 50 * time.Second, build: func(sec serve.Section, d deps) (serve.Collector, error) {
			cfg, err := decode[zfs.Config](sec)
			if err != nil {
				return nil, err
			}
			return zfs.New(cfg, d.runner, d.now, d.log)
		}, metrics: zfs.Metrics},
		{name: "smart", interval: 10 * time.Minute, timeout: 5 * time.Minute, build: func(sec serve.Section, d deps) (serve.Collector, error) {
			cfg, err := decode[smart.Config](sec)
			if err != nil {
				return nil, err
			}
			return smart.New(cfg, d.runner, d.log)
		}, metrics: smart.Metrics},
		// backup schedules its slow commands per repository itself; the
		// serving interval only decides how often it looks what is due,
		// and its update timeout derives from the repositories' timeouts.
		{name: "backup", interval: time.Minute, build: func(sec serve.Section, d deps) (serve.Collector, error) {
			cfg, err := decode[backup.Config](sec)
			if err != nil {
				return nil, err
			}
			return backup.New(cfg, backup.Deps{Runner: d.runner, Now: d.now, Log: d.log})
		}, metrics: backup.Metrics, budget: func(sec serve.Section) (time.Duration, func(time.Duration) error) {
			cfg, err := decode[backup.Config](sec)
			if err != nil {
				return 0, nil // build reports it
			}
			return cfg.UpdateBudget(), cfg.CheckUpdateTimeout
		}},
		{name: "deploy", interval: time.Minute, timeout: 50 * time.Second, build: func(sec serve.Section, d deps) (serve.Collector, error) {
			cfg, err := decode[deploy.Config](sec)
			if err != nil {
				return nil, err
			}
			return deploy.New(cfg, d.runner, deploy.OSFS{}, d.now, d.log)
		}, metrics: deploy.Metrics},
		{name: "nvr", interval: 30 * time.Second, timeout: 25 * time.Second, build: func(sec serve.Section, d deps) (serve.Collector, error) {
			cfg, err := decode[nvr.Config](sec)
			if err != nil {
				return nil, err
			}
			return nvr.New(cfg, d.http, d.now, d.log)
		}, metrics: nvr.Metrics},
	}
}

func factoryByName(name string) (factory, bool) {
	for _, f := range factories() {
		if f.name == name {
			return f, true
		}
	}
	return factory{}, false
}

func names() []string {
	var out []string
	for _, f := range factories() {
		out = append(out, f.name)
	}
	return out
}

var errUsage = errors.New("usage")
