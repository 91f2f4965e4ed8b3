package email

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzEnvelope: queued .eml files are read back from disk (and may come
// from older hlalert versions or an operator): parsing never panics, and what it
// returns always has a sender and recipients.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(rawMsg))
	if b, err := os.ReadFile(filepath.Join("testdata", "hostile.headers")); err == nil {
		f.Add(append(b, []byte("\r\nbody\r\n")...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, body, err := envelope(data, "d")
		if err != nil {
			return
		}
		if e.from == "" || len(e.rcpts) == 0 || body == nil {
			t.Fatalf("accepted a message without sender or recipients: %+v", e)
		}
	})
}
