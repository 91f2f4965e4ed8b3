package web

import (
	"fmt"
	"log/slog"
	"net/http"
)

// sameOrigin refuses non-safe requests (POST /-/reload, POST and DELETE on
// the silences) that a browser sends from another site, so a page open in
// the operator's browser cannot reload the config or silence alerts
// (CSRF). Browsers say where a request comes from (Sec-Fetch-Site, else
// Origin against Host); clients that send neither (curl, `hlalert
// silence`, amtool, Grafana's server-side proxy) are not browsers and pass.
// GET, HEAD and OPTIONS change nothing and always pass.
func sameOrigin(next http.Handler, log *slog.Logger) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Warn("refused a cross-origin request", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "remote", r.RemoteAddr)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "cross-origin %s %s refused: hlalert's state-changing endpoints accept only same-origin browser requests\n", r.Method, r.URL.Path)
	}))
	return p.Handler(next)
}
