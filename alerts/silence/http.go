package silence

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hlalert/hlalert/internal/authuser"
)

// NewHandler serves the silences API:
//
//	GET    /api/v1/silences        list (JSON: {"status":"success","data":[...]})
//	POST   /api/v1/silences        add; body: {"matchers":[...] | "matchers":"alertname=\"X\"",
//	                               "startsAt","endsAt" | "duration":"2h","createdBy","comment"}
//	GET    /api/v1/silence/{id}    one silence
//	DELETE /api/v1/silence/{id}    expire
//
// Mount it on the daemon's mux for those paths (or "/api/v1/silence" and
// "/api/v1/silences" prefixes). logger nil means slog.Default().
func NewHandler(store *Store, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	h := &handler{store: store, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/silences", h.list)
	mux.HandleFunc("POST /api/v1/silences", h.add)
	mux.HandleFunc("GET /api/v1/silence/{id}", h.get)
	mux.HandleFunc("DELETE /api/v1/silence/{id}", h.expire)
	return mux
}

type handler struct {
	store *Store
	log   *slog.Logger
}

// AddRequest is the body of POST /api/v1/silences.
type AddRequest struct {
	// Matchers is a list of matchers, or a string in Alertmanager matcher
	// syntax (`alertname="X",host=~"a|b"`).
	Matchers  json.RawMessage `json:"matchers"`
	StartsAt  time.Time       `json:"startsAt,omitzero"`
	EndsAt    time.Time       `json:"endsAt,omitzero"`
	Duration  string          `json:"duration,omitempty"` // instead of endsAt: from startsAt (or now)
	CreatedBy string          `json:"createdBy"`
	Comment   string          `json:"comment"`
}

// Silence turns the request into a silence, at now.
func (r AddRequest) Silence(now time.Time) (Silence, error) {
	s := Silence{StartsAt: r.StartsAt, EndsAt: r.EndsAt, CreatedBy: r.CreatedBy, Comment: r.Comment}
	raw := strings.TrimSpace(string(r.Matchers))
	switch {
	case raw == "" || raw == "null":
		return s, errors.New("matchers: required")
	case strings.HasPrefix(raw, `"`):
		var text string
		if err := json.Unmarshal(r.Matchers, &text); err != nil {
			return s, fmt.Errorf("matchers: %w", err)
		}
		ms, err := ParseMatchers(text)
		if err != nil {
			return s, err
		}
		s.Matchers = ms
	default:
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s.Matchers); err != nil {
			return s, fmt.Errorf("matchers: %w", err)
		}
	}
	if r.Duration != "" {
		if !r.EndsAt.IsZero() {
			return s, errors.New("duration: give endsAt or duration, not both")
		}
		d, err := time.ParseDuration(r.Duration)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("duration: %q is not a positive duration", r.Duration)
		}
		start := r.StartsAt
		if start.IsZero() {
			start = now
		}
		s.EndsAt = start.Add(d)
	}
	return s, nil
}

type response struct {
	Status string `json:"status"`
	Data   any    `json:"data,omitempty"`
	Error  string `json:"error,omitempty"`
}

func (h *handler) reply(w http.ResponseWriter, code int, data any, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	r := response{Status: "success", Data: data}
	if err != nil {
		r = response{Status: "error", Error: err.Error()}
	}
	if e := json.NewEncoder(w).Encode(r); e != nil {
		h.log.Debug("write silences response", "err", e)
	}
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	l, err := h.store.List()
	if err != nil {
		h.reply(w, http.StatusInternalServerError, nil, err)
		return
	}
	h.reply(w, http.StatusOK, l, nil)
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	s, err := h.store.Get(r.PathValue("id"))
	if err != nil {
		h.reply(w, statusOf(err), nil, err)
		return
	}
	h.reply(w, http.StatusOK, s, nil)
}

func (h *handler) add(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	var req AddRequest
	if err := dec.Decode(&req); err != nil {
		h.reply(w, http.StatusBadRequest, nil, fmt.Errorf("request body: %w", err))
		return
	}
	s, err := req.Silence(h.store.now())
	if err != nil {
		h.reply(w, http.StatusBadRequest, nil, err)
		return
	}
	// Who really asked: the authenticated user, beside the free-text
	// createdBy (which defaults to it).
	s.AuthUser = authuser.From(r.Context())
	if strings.TrimSpace(s.CreatedBy) == "" {
		s.CreatedBy = s.AuthUser
	}
	id, err := h.store.Add(s)
	if err != nil {
		h.reply(w, statusOf(err), nil, err)
		return
	}
	h.log.Info("silence added", "id", id, "createdBy", s.CreatedBy, "authUser", s.AuthUser, "endsAt", s.EndsAt)
	h.reply(w, http.StatusOK, map[string]string{"silenceID": id}, nil)
}

func (h *handler) expire(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.store.Expire(id); err != nil {
		h.reply(w, statusOf(err), nil, err)
		return
	}
	h.log.Info("silence expired", "id", id, "authUser", authuser.From(r.Context()))
	h.reply(w, http.StatusOK, nil, nil)
}

func statusOf(err error) int {
	var ve *validationError
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &ve):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
