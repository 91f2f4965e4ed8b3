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

// FuzzLoad: the e-mail config is outside input.
func FuzzLoad(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "email.good.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Load("fuzz.yaml", data)
	})
}

func TestLoadGood(t *testing.T) {
	f, err := LoadFile(filepath.Join("testdata", "email.good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQueue(QueueOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSender(SenderOptions{Receivers: f.Receivers, BaseDir: f.BaseDir, Queue: q}); err != nil {
		t.Fatal(err)
	}
	if f.OutboxDir != filepath.Join("testdata", "outbox") {
		t.Errorf("outbox_dir %q not resolved against the file's folder", f.OutboxDir)
	}
}
