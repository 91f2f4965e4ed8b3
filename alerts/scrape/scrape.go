// Package scrape is hlalert's standalone-mode collector: it scrapes
// Prometheus text-format targets itself and appends the samples to an
// in-memory series store, with Prometheus' target labels (job, instance),
// the synthetic up/scrape_* series and staleness markers for series that
// disappear, so the embedded engine sees what VictoriaMetrics would.
package scrape

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hlalert/hlalert/alerts/series"
)

// Appender receives scraped samples; *series.Store satisfies it.
type Appender interface {
	Append(ls series.Labels, t int64, v float64) error
}

// Target is one endpoint to scrape.
type Target struct {
	Job      string
	URL      string
	Labels   map[string]string // extra target labels
	Interval time.Duration
	Timeout  time.Duration
	// Client: nil: the scraper's. Authentication and TLS are the client's
	// (alerts/httpclient builds it from the target's config).
	Client *http.Client
}

// instance is the host:port of the target's URL, as Prometheus labels it.
func (t Target) instance() string {
	u, err := url.Parse(t.URL)
	if err != nil {
		return t.URL
	}
	return u.Host
}

// Scraper scrapes targets into an Appender.
type Scraper struct {
	client *http.Client
	app    Appender
	log    *slog.Logger

	mu   sync.Mutex
	seen map[string]map[string]series.Labels // target URL → series key → labels of the last scrape
}

// New returns a scraper. client nil means http.DefaultClient.
func New(app Appender, client *http.Client, log *slog.Logger) *Scraper {
	if client == nil {
		client = http.DefaultClient
	}
	return &Scraper{client: client, app: app, log: log, seen: map[string]map[string]series.Labels{}}
}

// Run scrapes every target on its interval until ctx ends. The first scrape
// of each target happens at once.
func (s *Scraper) Run(ctx context.Context, targets []Target) {
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Go(func() {
			tick := time.NewTicker(t.Interval)
			defer tick.Stop()
			down := false // log transitions, not every failed scrape
			for {
				err := s.ScrapeOnce(ctx, t, time.Now())
				switch {
				case ctx.Err() != nil:
				case err != nil && !down:
					s.log.Warn("target down: scrape failed (logged again when it recovers)", "job", t.Job, "url", t.URL, "err", err)
				case err != nil:
					s.log.Debug("scrape failed", "job", t.Job, "url", t.URL, "err", err)
				case down:
					s.log.Info("target up again", "job", t.Job, "url", t.URL)
				}
				down = err != nil
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
}

// ScrapeOnce scrapes one target at now and appends what it found, plus
// up, scrape_duration_seconds and scrape_samples_scraped. Series seen in the
// previous scrape and missing now get a staleness marker. The error is the
// scrape's failure (also recorded as up=0).
func (s *Scraper) ScrapeOnce(ctx context.Context, t Target, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	start := time.Now()
	samples, scrapeErr := s.fetch(ctx, t)
	took := time.Since(start)
	ts := now.UnixMilli()

	target := series.FromMap(t.Labels)
	target = setLabel(target, "job", t.Job)
	target = setLabel(target, "instance", t.instance())

	current := map[string]series.Labels{}
	var appendErr error
	add := func(ls series.Labels, t int64, v float64) {
		if err := s.app.Append(ls, t, v); err != nil && appendErr == nil {
			appendErr = err
		}
	}
	if scrapeErr == nil {
		for _, smp := range samples {
			ls := withTarget(smp.Metric, target)
			current[ls.Key()] = ls
			t := ts
			if smp.Timestamp != 0 {
				t = int64(smp.Timestamp)
			}
			add(ls, t, float64(smp.Value))
		}
	}
	up := 1.0
	if scrapeErr != nil {
		up = 0
	}
	add(withName(target, "up"), ts, up)
	add(withName(target, "scrape_duration_seconds"), ts, took.Seconds())
	add(withName(target, "scrape_samples_scraped"), ts, float64(len(samples)))

	s.mu.Lock()
	prev := s.seen[t.URL]
	s.seen[t.URL] = current
	s.mu.Unlock()
	for k, ls := range prev {
		if _, ok := current[k]; !ok {
			add(ls, ts, series.StaleNaN)
		}
	}
	if scrapeErr != nil {
		return fmt.Errorf("scrape %s: %w", t.URL, scrapeErr)
	}
	if appendErr != nil {
		return fmt.Errorf("store samples of %s: %w", t.URL, appendErr)
	}
	return nil
}

func (s *Scraper) fetch(ctx context.Context, t Target) (model.Vector, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	client := s.client
	if t.Client != nil {
		client = t.Client
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("parse text format: %w", err)
	}
	list := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		list = append(list, f)
	}
	v, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{Timestamp: 0}, list...)
	if err != nil {
		return nil, fmt.Errorf("extract samples: %w", err)
	}
	return v, nil
}

// withTarget merges target labels into scraped ones the way Prometheus does
// without honor_labels: a scraped label that clashes with a target label is
// kept as exported_<name>.
func withTarget(m model.Metric, target series.Labels) series.Labels {
	ls := make(series.Labels, 0, len(m)+len(target))
	for k, v := range m {
		name := string(k)
		if target.Has(name) {
			name = "exported_" + name
		}
		if v != "" {
			ls = append(ls, series.Label{Name: name, Value: string(v)})
		}
	}
	ls = append(ls, target...)
	ls.Sort()
	return ls
}

func withName(ls series.Labels, name string) series.Labels {
	return setLabel(ls, series.MetricName, name)
}

func setLabel(ls series.Labels, name, value string) series.Labels {
	out := make(series.Labels, 0, len(ls)+1)
	for _, l := range ls {
		if l.Name != name {
			out = append(out, l)
		}
	}
	if value != "" {
		out = append(out, series.Label{Name: name, Value: value})
	}
	out.Sort()
	return out
}
