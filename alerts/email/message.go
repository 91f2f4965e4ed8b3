package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/hlalert/hlalert/alerts/notify"
)

// TransportHeader names, in a queued message, the transport (receiver and
// email_configs index) that delivers it. It is removed before sending.
const TransportHeader = "X-Hlalert-Transport"

// threadRoot is the stable Message-ID every message of an alert group
// refers to (In-Reply-To, References), so that firing, repeats and the
// resolved mail thread together. No message carries it as its own ID: a
// group that comes back later threads under the same root.
func threadRoot(receiver, groupKey, domain string) string {
	h := sha256.Sum256([]byte("thread\x00" + receiver + "\x00" + groupKey))
	return "hlalert-group." + hex.EncodeToString(h[:12]) + "@" + domain
}

// batchKey identifies one flush of a group to one email config: the
// dedupe key of the queue. A batch handed over again (retry, crash) gets
// the same key; a repeat (new Seq) or another incarnation of the group
// (other StartsAt) gets a new one. EndsAt of firing alerts is left out:
// it moves between retries.
func batchKey(b notify.Batch, transport string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %d\n", transport, b.Receiver, b.GroupKey, b.Seq)
	keys := make([]string, 0, len(b.Alerts))
	for _, a := range b.Alerts {
		k := a.Fingerprint
		if k == "" {
			k = labelsKey(a.Labels)
		}
		k = fmt.Sprintf("%q %q %d", k, a.Status, a.StartsAt.UnixNano())
		if a.Status == "resolved" {
			k += " " + strconv.FormatInt(a.EndsAt.UnixNano(), 10)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintln(h, k)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

func labelsKey(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%q=%q,", k, m[k])
	}
	return b.String()
}

// mailDomain is the domain of the From address, for Message-IDs.
func mailDomain(a *mail.Address) string {
	if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i+1 < len(a.Address) {
		d := a.Address[i+1:]
		if validHeaderName(d) && !strings.ContainsAny(d, "<>()[]\\,;\"") {
			return d
		}
	}
	return "hlalert.invalid"
}

// compose builds the RFC 5322 message: multipart/alternative text and
// HTML (or just one of them), UTF-8, quoted-printable; non-ASCII header
// values are encoded with RFC 2047 (mime.QEncoding) by go-mail; header
// values went through headerValue, so no CR/LF reaches a header.
func compose(s *settings, r Rendered, key, transport, root string, date time.Time) ([]byte, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithEncoding(gomail.EncodingQP), gomail.WithCharset(gomail.CharsetUTF8))
	m.FromMailAddress(s.from)
	m.ToMailAddress(s.to...)
	m.Subject(r.Subject)
	m.SetDateWithValue(date)
	m.SetMessageIDWithValue("hlalert." + key + "@" + mailDomain(s.from))
	m.SetGenHeaderPreformatted(gomail.HeaderInReplyTo, "<"+root+">")
	m.SetGenHeaderPreformatted(gomail.HeaderReferences, "<"+root+">")
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetGenHeader(TransportHeader, transport)
	for _, h := range r.Headers {
		m.SetGenHeader(gomail.Header(h[0]), h[1])
	}
	switch {
	case r.Text != "" && r.HTML != "":
		m.SetBodyString(gomail.TypeTextPlain, r.Text)
		m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	case r.HTML != "":
		m.SetBodyString(gomail.TypeTextHTML, r.HTML)
	default:
		m.SetBodyString(gomail.TypeTextPlain, r.Text)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("compose message: %w", err)
	}
	return buf.Bytes(), nil
}
