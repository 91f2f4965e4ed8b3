// Package amhandoff hands alerts to an external Alertmanager (or a
// cluster of them) through its API: POST /api/v2/alerts with the
// OpenAPI alert shape (labels, annotations, startsAt, endsAt,
// generatorURL). It is a notification integration (notify.Notifier): the
// routing pipeline uses it instead of, or beside, e-mail, each attempted
// on its own.
package amhandoff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/notify"
)

// Options configures a Sender.
type Options struct {
	// URLs of the Alertmanagers (e.g. http://am1:9093); every batch goes to
	// each of them, as Alertmanager clusters expect. A path prefix is kept.
	URLs []string
	// Client: nil: a client with Timeout. Authentication and TLS are the
	// client's (alerts/httpclient builds it from the config).
	Client  *http.Client
	Timeout time.Duration // per request; zero: 10s
	// Attempts per Alertmanager within one Notify (zero: 3), Backoff
	// between them (zero: 1s, doubling). After that Notify returns an
	// error and the dispatcher retries the batch later, with its own
	// backoff, when the error is retryable.
	Attempts int
	Backoff  time.Duration
	Logger   *slog.Logger
}

// Sender posts batches to Alertmanager.
type Sender struct {
	urls     []string
	client   *http.Client
	attempts int
	backoff  time.Duration
	log      *slog.Logger
}

// New validates the options.
func New(o Options) (*Sender, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("amhandoff: urls: at least one Alertmanager URL required")
	}
	s := &Sender{client: o.Client, attempts: o.Attempts, backoff: o.Backoff, log: o.Logger}
	var errs []error
	for i, raw := range o.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("amhandoff: urls[%d]: %q: want http(s)://host[:port][/prefix]", i, raw))
			continue
		}
		s.urls = append(s.urls, strings.TrimSuffix(u.String(), "/")+"/api/v2/alerts")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if s.client == nil {
		t := o.Timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		s.client = &http.Client{Timeout: t}
	}
	if s.attempts <= 0 {
		s.attempts = 3
	}
	if s.backoff <= 0 {
		s.backoff = time.Second
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Alert is Alertmanager's postable alert (OpenAPI v2).
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Payload converts a batch. Resolved alerts carry their EndsAt (in the
// past), which is how Alertmanager learns they resolved; firing alerts
// carry EndsAt when the pipeline set one.
func Payload(b notify.Batch) []Alert {
	out := make([]Alert, 0, len(b.Alerts))
	for _, a := range b.Alerts {
		pa := Alert{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL}
		if pa.Labels == nil {
			pa.Labels = map[string]string{}
		}
		out = append(out, pa)
	}
	return out
}

// Notify posts the batch to every Alertmanager. Posting the same alerts
// twice is harmless (Alertmanager merges by labels), so retries are
// idempotent. It fails only when no Alertmanager accepted the batch;
// retry is then false when every Alertmanager refused it with a 4xx
// (other than 429), which sending the same alerts again will not fix.
func (s *Sender) Notify(ctx context.Context, b notify.Batch) (retry bool, err error) {
	if len(b.Alerts) == 0 {
		return false, nil
	}
	body, err := json.Marshal(Payload(b))
	if err != nil {
		return false, fmt.Errorf("amhandoff: encode alerts: %w", err)
	}
	var errs []error
	for _, u := range s.urls {
		r, err := s.post(ctx, u, body)
		if err == nil {
			return false, nil
		}
		s.log.Warn("alertmanager hand-off failed", "url", u, "err", err)
		errs = append(errs, err)
		retry = retry || r
	}
	return retry, errors.Join(errs...)
}

func (s *Sender) post(ctx context.Context, u string, body []byte) (retry bool, err error) {
	wait := s.backoff
	var last error
	for attempt := 1; attempt <= s.attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return true, fmt.Errorf("amhandoff: POST %s: %w (last error: %v)", u, ctx.Err(), last)
			case <-t.C:
			}
			wait *= 2
		}
		retry, err = s.postOnce(ctx, u, body)
		if err == nil {
			return false, nil
		}
		last = err
		if !retry {
			break
		}
	}
	return retry, last
}

func (s *Sender) postOnce(ctx context.Context, u string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("amhandoff: POST %s: %w", u, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("amhandoff: POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("amhandoff: POST %s: %s: %s", u, resp.Status, strings.TrimSpace(string(msg)))
	default:
		// 4xx: Alertmanager rejected the payload; retrying will not help.
		return false, fmt.Errorf("amhandoff: POST %s: rejected: %s: %s", u, resp.Status, strings.TrimSpace(string(msg)))
	}
}
