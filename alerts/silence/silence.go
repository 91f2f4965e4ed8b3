// Package silence keeps silences: matchers that mute alerts for a time.
// Silences are persisted in a JSON file in the state directory (atomic
// write + fsync) and shared between the daemon and the CLI: every
// operation re-reads the file when another process changed it, and writes
// happen under an advisory file lock.
package silence

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/hlalert/hlalert/alerts/atomicfile"
)

// FileName is the store's file inside the state directory.
const FileName = "silences.json"

// Retention is how long an expired silence is kept (listed as expired)
// before it is dropped.
const Retention = 5 * 24 * time.Hour

// States of a silence.
const (
	StatePending = "pending"
	StateActive  = "active"
	StateExpired = "expired"
)

// ErrNotFound is returned for an unknown silence id.
var ErrNotFound = errors.New("silence not found")

// Matcher is one label matcher, in Alertmanager's API shape.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// String renders the matcher in Alertmanager's matcher syntax.
func (m Matcher) String() string {
	op := "="
	switch {
	case m.IsRegex && m.IsEqual:
		op = "=~"
	case m.IsRegex:
		op = "!~"
	case !m.IsEqual:
		op = "!="
	}
	lm, err := labels.NewMatcher(matchType(op), m.Name, m.Value)
	if err != nil {
		return m.Name + op + fmt.Sprintf("%q", m.Value)
	}
	return lm.String()
}

func matchType(op string) labels.MatchType {
	switch op {
	case "!=":
		return labels.MatchNotEqual
	case "=~":
		return labels.MatchRegexp
	case "!~":
		return labels.MatchNotRegexp
	}
	return labels.MatchEqual
}

// ParseMatchers parses Alertmanager matcher syntax (`alertname="X",
// severity=~"crit|warn"` or `{...}`), as amtool does.
func ParseMatchers(s string) ([]Matcher, error) {
	ms, err := labels.ParseMatchers(s)
	if err != nil {
		return nil, fmt.Errorf("matchers %q: %w", s, err)
	}
	out := make([]Matcher, 0, len(ms))
	for _, m := range ms {
		out = append(out, Matcher{
			Name:    m.Name,
			Value:   m.Value,
			IsRegex: m.Type == labels.MatchRegexp || m.Type == labels.MatchNotRegexp,
			IsEqual: m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp,
		})
	}
	return out, nil
}

// Silence mutes the alerts its matchers all match between StartsAt and
// EndsAt.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	// AuthUser is the user the request that created the silence
	// authenticated as (basic auth of the web config); empty when the
	// daemon checks no password, or from the CLI on the state directory.
	AuthUser  string    `json:"authUser,omitempty"`
	Comment   string    `json:"comment"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Status is filled in by List and Get.
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

// State reports the silence's state at now.
func (s Silence) State(now time.Time) string {
	switch {
	case !now.Before(s.EndsAt):
		return StateExpired
	case now.Before(s.StartsAt):
		return StatePending
	}
	return StateActive
}

// validate checks a silence; stored ones (read back) may have been
// expired at their start, so EndsAt == StartsAt is allowed for them.
func (s Silence) validate(stored bool) error {
	var errs []error
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("matchers: at least one matcher is required"))
	}
	allEmpty := true
	for i, m := range s.Matchers {
		lm, err := s.compiled(i)
		if err != nil {
			errs = append(errs, fmt.Errorf("matchers[%d]: %w", i, err))
			continue
		}
		if !lm.Matches("") {
			allEmpty = false
		}
		if !model.LabelName(m.Name).IsValid() && !model.UTF8Validation.IsValidLabelName(m.Name) {
			errs = append(errs, fmt.Errorf("matchers[%d]: invalid label name %q", i, m.Name))
		}
	}
	if len(s.Matchers) > 0 && allEmpty {
		errs = append(errs, errors.New("matchers: at least one matcher must not match the empty string (the silence would mute every alert)"))
	}
	if s.StartsAt.IsZero() {
		errs = append(errs, errors.New("startsAt: required"))
	}
	if s.EndsAt.IsZero() {
		errs = append(errs, errors.New("endsAt: required"))
	} else if s.EndsAt.Before(s.StartsAt) || (!stored && s.EndsAt.Equal(s.StartsAt)) {
		errs = append(errs, errors.New("endsAt: must be after startsAt"))
	}
	if strings.TrimSpace(s.CreatedBy) == "" {
		errs = append(errs, errors.New("createdBy: required"))
	}
	if strings.TrimSpace(s.Comment) == "" {
		errs = append(errs, errors.New("comment: required"))
	}
	return errors.Join(errs...)
}

func (s Silence) compiled(i int) (*labels.Matcher, error) {
	m := s.Matchers[i]
	op := "="
	switch {
	case m.IsRegex && m.IsEqual:
		op = "=~"
	case m.IsRegex:
		op = "!~"
	case !m.IsEqual:
		op = "!="
	}
	return labels.NewMatcher(matchType(op), m.Name, m.Value)
}

// matches reports whether every matcher matches lset (a missing label is
// the empty string, as in Alertmanager).
func (s Silence) matches(lset map[string]string) bool {
	for i := range s.Matchers {
		lm, err := s.compiled(i)
		if err != nil || !lm.Matches(lset[s.Matchers[i].Name]) {
			return false
		}
	}
	return true
}

// validationError marks a bad silence (a client error, not a storage one).
type validationError struct{ err error }

func (e *validationError) Error() string { return e.err.Error() }
func (e *validationError) Unwrap() error { return e.err }

func invalid(err error) error { return &validationError{err} }

// Options configures a Store.
type Options struct {
	Dir string           // state directory; created if missing
	Now func() time.Time // nil: time.Now
}

// Store is the silences of one state directory. It is safe for concurrent
// use and for use by several processes on the same directory.
type Store struct {
	path, lock string
	now        func() time.Time

	mu       sync.Mutex
	silences map[string]Silence
	modTime  time.Time
	size     int64
}

// Open opens (or creates) the store in opts.Dir.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("silence: Dir is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("silence: state dir: %w", err)
	}
	s := &Store{
		path: filepath.Join(opts.Dir, FileName),
		lock: filepath.Join(opts.Dir, ".silences.lock"),
		now:  opts.Now,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return nil, err
	}
	return s, nil
}

// refresh re-reads the file when it changed on disk. Callers hold s.mu.
func (s *Store) refresh() error {
	fi, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.silences = map[string]Silence{}
		s.modTime, s.size = time.Time{}, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("silence: %w", err)
	}
	if s.silences != nil && fi.ModTime().Equal(s.modTime) && fi.Size() == s.size {
		return nil
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("silence: %w", err)
	}
	var file struct {
		Silences []Silence `json:"silences"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return fmt.Errorf("silence: %s: %w", s.path, err)
	}
	m := make(map[string]Silence, len(file.Silences))
	for i, sil := range file.Silences {
		if err := sil.validate(true); err != nil {
			return fmt.Errorf("silence: %s: silences[%d] (id %s): %w", s.path, i, sil.ID, err)
		}
		m[sil.ID] = sil
	}
	s.silences, s.modTime, s.size = m, fi.ModTime(), fi.Size()
	return nil
}

// update runs fn on the current silences under the file lock and writes
// the result.
func (s *Store) update(fn func(m map[string]Silence) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	lf, err := os.OpenFile(s.lock, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("silence: lock: %w", err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("silence: lock: %w", err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN) //nolint:errcheck
	s.silences = nil                                   // force a re-read under the lock
	if err := s.refresh(); err != nil {
		return err
	}
	m := make(map[string]Silence, len(s.silences))
	for k, v := range s.silences {
		m[k] = v
	}
	if err := fn(m); err != nil {
		return err
	}
	now := s.now()
	for id, sil := range m {
		if now.Sub(sil.EndsAt) > Retention {
			delete(m, id)
		}
	}
	list := sortedList(m)
	for i := range list {
		list[i].Status.State = ""
	}
	data, err := json.MarshalIndent(struct {
		Silences []Silence `json:"silences"`
	}{list}, "", "  ")
	if err != nil {
		return fmt.Errorf("silence: encode: %w", err)
	}
	if err := atomicfile.Write(s.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("silence: %w", err)
	}
	s.silences = nil
	return s.refresh()
}

func sortedList(m map[string]Silence) []Silence {
	out := make([]Silence, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Add validates and stores a new silence and returns its id. A zero
// StartsAt means now. ID and UpdatedAt are set by the store.
func (s *Store) Add(sil Silence) (string, error) {
	now := s.now()
	if sil.StartsAt.IsZero() {
		sil.StartsAt = now
	}
	if sil.ID != "" {
		return "", invalid(errors.New("silence: id: must be empty for a new silence"))
	}
	if !sil.EndsAt.IsZero() && !sil.EndsAt.After(now) {
		return "", invalid(errors.New("silence: endsAt: must be in the future"))
	}
	if err := sil.validate(false); err != nil {
		return "", invalid(fmt.Errorf("silence: %w", err))
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("silence: id: %w", err)
	}
	sil.ID = hex.EncodeToString(b[:])
	sil.UpdatedAt = now
	sil.Status.State = ""
	err := s.update(func(m map[string]Silence) error {
		m[sil.ID] = sil
		return nil
	})
	if err != nil {
		return "", err
	}
	return sil.ID, nil
}

// Expire ends a silence now. Expiring an expired silence is an error.
func (s *Store) Expire(id string) error {
	return s.update(func(m map[string]Silence) error {
		sil, ok := m[id]
		if !ok {
			return fmt.Errorf("silence %s: %w", id, ErrNotFound)
		}
		now := s.now()
		if sil.State(now) == StateExpired {
			return invalid(fmt.Errorf("silence %s: already expired", id))
		}
		if now.Before(sil.StartsAt) {
			sil.StartsAt = now
		}
		sil.EndsAt = now
		sil.UpdatedAt = now
		m[id] = sil
		return nil
	})
}

// List returns all silences (pending, active, recently expired), ordered
// by StartsAt, with Status filled in.
func (s *Store) List() ([]Silence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return nil, err
	}
	now := s.now()
	out := sortedList(s.silences)
	for i := range out {
		out[i].Status.State = out[i].State(now)
	}
	return out, nil
}

// Get returns one silence.
func (s *Store) Get(id string) (Silence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return Silence{}, err
	}
	sil, ok := s.silences[id]
	if !ok {
		return Silence{}, fmt.Errorf("silence %s: %w", id, ErrNotFound)
	}
	sil.Status.State = sil.State(s.now())
	return sil, nil
}

// Mutes returns the ids of the active silences that match lset, sorted.
// A store that cannot be read mutes nothing (an unreadable silence file
// must not hide alerts); the error is returned for logging.
func (s *Store) Mutes(lset map[string]string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return nil, err
	}
	now := s.now()
	var ids []string
	for id, sil := range s.silences {
		if sil.State(now) == StateActive && sil.matches(lset) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}
