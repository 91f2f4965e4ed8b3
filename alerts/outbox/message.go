package outbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/evaluator"
	"github.com/hlalert/hlalert/alerts/rule"
)

// Status of a message: its alerts fired or resolved.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Message is one notification e-mail: the alerts of one rule of one group
// that fired, or resolved, in the same evaluation.
type Message struct {
	Status      string // StatusFiring or StatusResolved
	Group, Rule string
	Alerts      []evaluator.Notification // sorted by labels
	// Time is when the event happened: the latest firing (or resolving)
	// time of the alerts. It is derived from the alerts, not the clock, so
	// that a retried notification renders identically.
	Time time.Time
	// ID identifies the event: a hash of status, group, rule and each
	// alert's labels and event time. A retry has the same ID.
	ID string
}

// Compose groups notifications into messages by (group, rule, status), in
// a stable order.
func Compose(ns []evaluator.Notification) []Message {
	type key struct{ group, rule, status string }
	byKey := map[key]*Message{}
	var keys []key
	for _, n := range ns {
		k := key{n.Group, n.Rule, status(n.Alert)}
		m := byKey[k]
		if m == nil {
			m = &Message{Status: k.status, Group: k.group, Rule: k.rule}
			byKey[k] = m
			keys = append(keys, k)
		}
		m.Alerts = append(m.Alerts, n)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return strings.Compare(a.group+"\x00"+a.rule+"\x00"+a.status, b.group+"\x00"+b.rule+"\x00"+b.status)
	})
	out := make([]Message, 0, len(keys))
	for _, k := range keys {
		m := byKey[k]
		slices.SortFunc(m.Alerts, func(a, b evaluator.Notification) int {
			return strings.Compare(a.Alert.Labels.Key(), b.Alert.Labels.Key())
		})
		h := sha256.New()
		fmt.Fprintf(h, "%q %q %q\n", m.Status, m.Group, m.Rule)
		for _, n := range m.Alerts {
			t := eventTime(n.Alert)
			if t.After(m.Time) {
				m.Time = t
			}
			fmt.Fprintf(h, "%q %d\n", n.Alert.Labels.Key(), t.UnixNano())
		}
		m.ID = hex.EncodeToString(h.Sum(nil))[:20]
		out = append(out, *m)
	}
	return out
}

func status(a rule.Alert) string {
	if a.State == rule.StateInactive {
		return StatusResolved
	}
	return StatusFiring
}

// eventTime is when the alert fired, or resolved.
func eventTime(a rule.Alert) time.Time {
	if a.State == rule.StateInactive && !a.ResolvedAt.IsZero() {
		return a.ResolvedAt
	}
	if !a.FiredAt.IsZero() {
		return a.FiredAt
	}
	return a.ActiveAt
}

// FileName is the message's outbox file name: event time and ID.
func (m Message) FileName() string {
	return m.Time.UTC().Format("20060102T150405Z") + "-" + m.Status + "-" + m.ID + ".eml"
}

// Subject is the one-line subject, in Alertmanager's style:
// "[FIRING:2] BackupStale (backups)". Control characters are replaced by
// spaces, runs of white space collapse to one, and it is cut at 200
// characters; it is not yet header-encoded.
func (m Message) Subject() string {
	s := fmt.Sprintf("[%s:%d] %s (%s)", strings.ToUpper(m.Status), len(m.Alerts), m.Rule, m.Group)
	if len(m.Alerts) == 1 {
		var extra []string
		for _, l := range m.Alerts[0].Alert.Labels {
			if l.Name != rule.AlertNameLabel && l.Name != rule.AlertGroupNameLabel {
				extra = append(extra, l.Name+"="+l.Value)
			}
		}
		if len(extra) > 0 {
			s += " " + strings.Join(extra, " ")
		}
	}
	return strings.Join(strings.Fields(oneLine(s, 200)), " ")
}

// oneLine replaces control characters with spaces and cuts s to max runes.
func oneLine(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Body is the plain-text body: every alert with its labels (quoted, so a
// value cannot fake a line), annotations (indented), times and value.
func (m Message) Body() string {
	var b strings.Builder
	verb := "firing"
	if m.Status == StatusResolved {
		verb = "resolved"
	}
	fmt.Fprintf(&b, "%d alert(s) %s: rule %s, group %s.\n", len(m.Alerts), verb, strconv.Quote(m.Rule), strconv.Quote(m.Group))
	for _, n := range m.Alerts {
		a := n.Alert
		fmt.Fprintf(&b, "\n[%s] %s\n", strings.ToUpper(status(a)), strconv.Quote(a.Labels.Get(rule.AlertNameLabel)))
		b.WriteString("  Labels:\n")
		for _, l := range a.Labels {
			fmt.Fprintf(&b, "    %s: %s\n", quoteName(l.Name), strconv.Quote(l.Value))
		}
		if len(a.Annotations) > 0 {
			b.WriteString("  Annotations:\n")
			names := make([]string, 0, len(a.Annotations))
			for k := range a.Annotations {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, k := range names {
				fmt.Fprintf(&b, "    %s:\n", quoteName(k))
				for _, line := range strings.Split(strings.ReplaceAll(a.Annotations[k], "\r\n", "\n"), "\n") {
					fmt.Fprintf(&b, "      %s\n", oneLine(line, 1<<20))
				}
			}
		}
		if !a.ActiveAt.IsZero() {
			fmt.Fprintf(&b, "  Active since: %s\n", a.ActiveAt.UTC().Format(time.RFC3339))
		}
		if !a.FiredAt.IsZero() {
			fmt.Fprintf(&b, "  Firing since: %s\n", a.FiredAt.UTC().Format(time.RFC3339))
		}
		if a.State == rule.StateInactive && !a.ResolvedAt.IsZero() {
			fmt.Fprintf(&b, "  Resolved at:  %s\n", a.ResolvedAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(&b, "  Value: %s\n", strconv.FormatFloat(a.LastValue, 'g', -1, 64))
	}
	if u := m.Alerts[0].ExternalURL; u != "" {
		fmt.Fprintf(&b, "\nSource: %s\n", oneLine(u, 2000))
	}
	return b.String()
}

// Envelope is who a message is from and to.
type Envelope struct {
	From *mail.Address
	To   []*mail.Address
}

// RFC5322 renders the message as an RFC 5322 e-mail (what an .eml file
// holds): headers with CRLF line ends, non-ASCII encoded with
// mime.QEncoding, and a quoted-printable UTF-8 text body. No value can add
// a header: control characters never reach a header.
func (m Message) RFC5322(env Envelope) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("From", env.From.String())
	to := make([]string, len(env.To))
	for i, a := range env.To {
		to[i] = a.String()
	}
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject()))
	header("Date", m.Time.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+m.ID+"."+strconv.FormatInt(m.Time.Unix(), 10)+"@"+domain(env.From)+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	header("X-Hlalert-Status", m.Status)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(m.Body(), "\n", "\r\n")
	_, _ = qp.Write([]byte(body)) // writes to a bytes.Buffer do not fail
	_ = qp.Close()
	return b.Bytes()
}

// domain is the From address's domain, for Message-ID.
func domain(a *mail.Address) string {
	if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i+1 < len(a.Address) {
		d := a.Address[i+1:]
		if !strings.ContainsAny(d, "<>\r\n \t") {
			return d
		}
	}
	return "hlalert.invalid"
}

// quoteName leaves a label or annotation name as it is when it is a plain
// identifier, and quotes it otherwise.
func quoteName(s string) string {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
