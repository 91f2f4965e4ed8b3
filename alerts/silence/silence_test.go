package silence

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t *testing.T, dir string, c *clock) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustMatchers(t *testing.T, s string) []Matcher {
	t.Helper()
	ms, err := ParseMatchers(s)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestStoreLifecycle(t *testing.T) {
	dir := t.TempDir()
	c := &clock{time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	s := open(t, dir, c)
	id, err := s.Add(Silence{Matchers: mustMatchers(t, `alertname="BackupStale",host=~"nas|main"`), EndsAt: c.t.Add(2 * time.Hour), CreatedBy: "me", Comment: "moving disks"})
	if err != nil {
		t.Fatal(err)
	}
	pendingID, err := s.Add(Silence{Matchers: mustMatchers(t, `alertname="X"`), StartsAt: c.t.Add(time.Hour), EndsAt: c.t.Add(3 * time.Hour), CreatedBy: "me", Comment: "later"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		labels map[string]string
		want   []string
	}{
		{map[string]string{"alertname": "BackupStale", "host": "nas"}, []string{id}},
		{map[string]string{"alertname": "BackupStale", "host": "other"}, nil},
		{map[string]string{"alertname": "BackupStale"}, nil},
		{map[string]string{"alertname": "X"}, nil}, // pending
	}
	for _, tc := range cases {
		got, err := s.Mutes(tc.labels)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Mutes(%v) = %v, %v; want %v", tc.labels, got, err, tc.want)
		}
	}
	// A second store on the same dir (the CLI) sees the silences and its
	// changes reach the first (the daemon).
	other := open(t, dir, c)
	if err := other.Expire(id); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Mutes(map[string]string{"alertname": "BackupStale", "host": "nas"}); got != nil {
		t.Errorf("expired silence still mutes: %v", got)
	}
	c.t = c.t.Add(time.Hour)
	if got, _ := s.Mutes(map[string]string{"alertname": "X"}); !reflect.DeepEqual(got, []string{pendingID}) {
		t.Errorf("silence not active at its start: %v", got)
	}
	l, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, sil := range l {
		states[sil.ID] = sil.Status.State
	}
	if states[id] != StateExpired || states[pendingID] != StateActive {
		t.Errorf("states: %v", states)
	}
	if err := s.Expire(id); err == nil || !strings.Contains(err.Error(), "already expired") {
		t.Errorf("expire twice: %v", err)
	}
	if err := s.Expire("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expire unknown: %v", err)
	}
	// Expired silences are dropped after the retention.
	c.t = c.t.Add(Retention + 4*time.Hour)
	if _, err := s.Add(Silence{Matchers: mustMatchers(t, `a="b"`), EndsAt: c.t.Add(time.Hour), CreatedBy: "me", Comment: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("old silence kept: %v", err)
	}
	// The file survives a reopen.
	again := open(t, dir, c)
	if l, _ := again.List(); len(l) != 1 {
		t.Errorf("after reopen: %d silences, want 1", len(l))
	}
}

func TestAddInvalid(t *testing.T) {
	c := &clock{time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	s := open(t, t.TempDir(), c)
	end := c.t.Add(time.Hour)
	cases := []struct {
		s    Silence
		want string
	}{
		{Silence{EndsAt: end, CreatedBy: "me", Comment: "c"}, "matchers: at least one matcher is required"},
		{Silence{Matchers: mustMatchers(t, `a=~".*"`), EndsAt: end, CreatedBy: "me", Comment: "c"}, "must not match the empty string"},
		{Silence{Matchers: mustMatchers(t, `a="b"`), EndsAt: c.t.Add(-time.Minute), CreatedBy: "me", Comment: "c"}, "endsAt: must be in the future"},
		{Silence{Matchers: mustMatchers(t, `a="b"`), EndsAt: end, Comment: "c"}, "createdBy: required"},
		{Silence{Matchers: mustMatchers(t, `a="b"`), EndsAt: end, CreatedBy: "me"}, "comment: required"},
		{Silence{Matchers: mustMatchers(t, `a="b"`), CreatedBy: "me", Comment: "c"}, "endsAt: required"},
		{Silence{Matchers: []Matcher{{Name: "a", Value: "(", IsRegex: true, IsEqual: true}}, EndsAt: end, CreatedBy: "me", Comment: "c"}, "matchers[0]: error parsing regexp"},
	}
	for _, tc := range cases {
		_, err := s.Add(tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Add(%+v) = %v, want error containing %q", tc.s, err, tc.want)
		}
	}
	if _, err := ParseMatchers(`a=~"("`); err == nil {
		t.Error("ParseMatchers accepted a bad regexp")
	}
}

func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(`{"silences":[{"id":"x","bogus":1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), FileName) || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("Open of a corrupt file: %v", err)
	}
}

func TestHTTP(t *testing.T) {
	c := &clock{time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	s := open(t, t.TempDir(), c)
	srv := httptest.NewServer(NewHandler(s, nil))
	defer srv.Close()
	do := func(method, path, body string) (int, response) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r response
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, r
	}
	code, r := do("POST", "/api/v1/silences", `{"matchers":"alertname=\"BackupStale\"","duration":"2h","createdBy":"me","comment":"c"}`)
	if code != 200 {
		t.Fatalf("add: %d %+v", code, r)
	}
	id := r.Data.(map[string]any)["silenceID"].(string)
	if code, r := do("POST", "/api/v1/silences", `{"matchers":[{"name":"a","value":"b","isRegex":false,"isEqual":true}],"endsAt":"2026-11-21T12:00:00Z","createdBy":"me","comment":"c"}`); code != 200 {
		t.Fatalf("add with list: %d %+v", code, r)
	}
	if code, r := do("POST", "/api/v1/silences", `{"matchers":"alertname=\"X\"","duration":"2h","comment":"c"}`); code != 400 || !strings.Contains(r.Error, "createdBy") {
		t.Errorf("bad add: %d %+v", code, r)
	}
	if code, r := do("POST", "/api/v1/silences", `{"matcher":"x"}`); code != 400 || !strings.Contains(r.Error, "unknown field") {
		t.Errorf("unknown field: %d %+v", code, r)
	}
	if code, r := do("GET", "/api/v1/silences", ""); code != 200 || len(r.Data.([]any)) != 2 {
		t.Errorf("list: %d %+v", code, r)
	}
	if code, r := do("GET", "/api/v1/silence/"+id, ""); code != 200 || r.Data.(map[string]any)["status"].(map[string]any)["state"] != "active" {
		t.Errorf("get: %d %+v", code, r)
	}
	if code, r := do("DELETE", "/api/v1/silence/"+id, ""); code != 200 {
		t.Errorf("expire: %d %+v", code, r)
	}
	if code, _ := do("DELETE", "/api/v1/silence/nope", ""); code != 404 {
		t.Errorf("expire unknown: %d", code)
	}
	if got, _ := s.Mutes(map[string]string{"alertname": "BackupStale"}); got != nil {
		t.Errorf("expired over HTTP, still mutes: %v", got)
	}
}

func FuzzParseMatchers(f *testing.F) {
	for _, s := range []string{`alertname="X"`, `{a=~"b|c",d!="e"}`, `a!~"("`, `"quoted name"="v"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMatchers(s)
		if err != nil {
			return
		}
		for _, m := range ms {
			_ = m.String()
		}
	})
}
