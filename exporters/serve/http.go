package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultListenAddress is loopback only: put a reverse proxy or firewall
// rule in front to expose it. 9808 is hlexporter's port.
const DefaultListenAddress = "127.0.0.1:9808"

// Handler serves /metrics (the cached results plus Go and process
// metrics), /api/homepage, /api/homepage/<collector> and /healthz.
func (s *Server) Handler() (http.Handler, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(s); err != nil {
		return nil, fmt.Errorf("register collectors: %w", err)
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogAdapter{s}, ErrorHandling: promhttp.ContinueOnError}))
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

type slogAdapter struct{ s *Server }

func (a slogAdapter) Println(v ...any) { a.s.log.Error("metrics handler", "err", fmt.Sprint(v...)) }

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
// HTTP server down (5s grace).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	h, err := s.Handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("listening", "address", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
