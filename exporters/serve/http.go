package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hlalert/hlalert/internal/httpaccess"
)

// DefaultListenAddress is loopback only: put a reverse proxy or firewall
// rule in front to expose it. 9808 is hlexporter's port.
const DefaultListenAddress = "127.0.0.1:9808"

// Handler serves /metrics (the cached results plus Go and process
// metrics), /api/homepage, /api/homepage/<collector> and /healthz.
//
// /metrics copies each collector's last result as encoded when it was
// made and only gathers the Go runtime and process metrics afresh, so a
// scrape costs well under a millisecond whatever the collectors hold, and
// never waits for an update in progress.
func (s *Server) Handler() (http.Handler, error) {
	runtimeReg := prometheus.NewRegistry()
	if err := runtimeReg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := runtimeReg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	mux := http.NewServeMux()
	rt := &runtimeCache{reg: runtimeReg, maxAge: s.runtimeMaxAge, log: s.log}
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		fams := s.families(rt.families())
		n := 0
		for _, f := range fams {
			n += len(f.text)
		}
		w.Header().Set("Content-Type", string(textFormat))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		if err := writeFamilies(w, fams); err != nil {
			s.log.Debug("metrics handler: client went away", "err", err)
		}
	})
	mux.HandleFunc("GET /api/homepage", func(w http.ResponseWriter, r *http.Request) {
		m, _ := s.Homepage("")
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("GET /api/homepage/{collector}", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.Homepage(r.PathValue("collector"))
		if !ok {
			http.Error(w, fmt.Sprintf("unknown collector %q", r.PathValue("collector")), http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		// Liveness of the process: collectors' failures are metrics, not a
		// reason to restart the exporter. The body lists their state.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
		for _, st := range s.Statuses() {
			state := "pending"
			switch {
			case st.Updated && st.Success:
				state = "ok"
			case st.Updated:
				state = "failing: " + st.LastError
			}
			fmt.Fprintf(w, "%s: %s\n", st.Name, state)
		}
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><h1>hlexporter</h1><ul><li><a href="/metrics">/metrics</a></li><li><a href="/api/homepage">/api/homepage</a></li><li><a href="/healthz">/healthz</a></li></ul></body></html>`)
	})
	return mux, nil
}

// runtimeCache holds the Go runtime and process metrics, gathered again
// when older than maxAge (reading /proc costs most of a scrape).
type runtimeCache struct {
	reg    prometheus.Gatherer
	maxAge time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	at   time.Time
	fams []family
}

func (c *runtimeCache) families() []family {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxAge > 0 && !c.at.IsZero() && time.Since(c.at) < c.maxAge {
		return c.fams
	}
	mfs, err := c.reg.Gather()
	var fams []family
	if err == nil {
		fams, err = encodeGathered(mfs)
	}
	if err != nil { // runtime metrics are a mix-in: serve the rest
		c.log.Error("metrics handler: runtime metrics", "err", err)
		return nil
	}
	c.at, c.fams = time.Now(), fams
	return fams
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// ListenAndServe serves Handler on addr until ctx is done, then shuts the
// HTTP server down (5s grace). access decides who may connect (web config,
// loopback rule); nil serves plain HTTP with the loopback rule and no
// exception.
func (s *Server) ListenAndServe(ctx context.Context, addr string, access *httpaccess.Access) error {
	h, err := s.Handler()
	if err != nil {
		return err
	}
	if access == nil {
		if access, err = httpaccess.New(httpaccess.Options{Logger: s.log}); err != nil {
			return err
		}
	}
	ln, err := access.Listen(addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("listening", "address", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- access.Serve(ln, srv) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
