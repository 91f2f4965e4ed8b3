package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/atomicfile"
)

// StateFileName is the dispatcher's file in the state directory: the
// alerts it holds and the notification log.
const StateFileName = "notify.json"

// nflogRetention is how long a notification log entry outlives its last
// notification (Alertmanager keeps 120h).
const nflogRetention = 120 * time.Hour

// logEntry is what was last sent through one integration of one
// receiver for one aggregation group, as Alertmanager's nflog keeps it.
type logEntry struct {
	Receiver string `json:"receiver"`
	GroupKey string `json:"groupKey"`
	// Integration names the receiver's integration ("email[0]",
	// "alertmanager"); "" for a receiver without integrations and in
	// state files written before integrations had their own entries.
	Integration string    `json:"integration,omitempty"`
	Seq         uint64    `json:"seq"`
	Firing      []string  `json:"firing"`   // fingerprints, sorted
	Resolved    []string  `json:"resolved"` // fingerprints, sorted
	Timestamp   time.Time `json:"timestamp"`
}

// storedAlert is one alert the dispatcher holds.
type storedAlert struct {
	Alert
	// Updated is when the evaluator last told us about the alert.
	Updated time.Time `json:"updated"`
}

type stateFile struct {
	Alerts      []storedAlert `json:"alerts"`
	Log         []logEntry    `json:"log"`
	ExternalURL string        `json:"externalURL,omitempty"`
}

func readState(dir string) (stateFile, error) {
	var st stateFile
	p := filepath.Join(dir, StateFileName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("notify state: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, fmt.Errorf("notify state %s: %w", p, err)
	}
	return st, nil
}

// LoadAlerts returns the alerts a dispatcher persisted in stateDir (for
// `hlalert route`, which shows whether an alert would be inhibited).
func LoadAlerts(stateDir string) ([]Alert, error) {
	st, err := readState(stateDir)
	if err != nil {
		return nil, err
	}
	out := make([]Alert, 0, len(st.Alerts))
	for _, a := range st.Alerts {
		out = append(out, a.Alert)
	}
	return out, nil
}

func writeState(dir string, st stateFile) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("notify state: encode: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("notify state: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, StateFileName), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("notify state: %w", err)
	}
	return nil
}
