package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/hlalert/hlalert/alerts/config"
	"github.com/hlalert/hlalert/alerts/httpclient"
	"github.com/hlalert/hlalert/alerts/silence"
)

// silenceTarget is where `hlalert silence` works: a state directory or the
// HTTP API of a running hlalert.
type silenceTarget struct {
	store  *silence.Store
	url    string
	client *http.Client // for --url: with its basic auth and CA
}

func silenceUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: hlalert silence add    (--config FILE | --state-dir DIR | --url URL) --matcher 'alertname=X' [--matcher ...] --author NAME --comment TEXT (--duration 2h | --end RFC3339) [--start RFC3339]")
	fmt.Fprintln(w, "       hlalert silence expire (--config FILE | --state-dir DIR | --url URL) ID...")
	fmt.Fprintln(w, "       hlalert silence list   (--config FILE | --state-dir DIR | --url URL) [--all]")
	fmt.Fprintln(w, "\nManages silences: in the state directory of an hlalert config (a running daemon picks")
	fmt.Fprintln(w, "changes up at its next flush), or through the HTTP API of a running hlalert (--url;")
	fmt.Fprintln(w, "with basic auth: --user NAME --password-file FILE; a private CA: --ca-file FILE).")
}

// runSilence is `hlalert silence`.
func runSilence(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		silenceUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sub := args[0]
	fset := flag.NewFlagSet("silence "+sub, flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfgPath := fset.String("config", "", "hlalert config: work on its state_dir")
	stateDir := fset.String("state-dir", "", "work on this state directory")
	apiURL := fset.String("url", "", "work through the HTTP API of a running hlalert (e.g. http://127.0.0.1:8880)")
	user := fset.String("user", "", "with --url: basic auth user name")
	passFile := fset.String("password-file", "", "with --url: file holding the basic auth password")
	caFile := fset.String("ca-file", "", "with --url: PEM file of the CA that signed hlalert's certificate (default: the system's CAs)")
	var matchers []string
	var author, comment, start, end *string
	var dur *time.Duration
	var all *bool
	switch sub {
	case "add":
		fset.Func("matcher", "matcher(s) in Alertmanager syntax, e.g. 'alertname=BackupStale' or 'host=~\"nas|main\"' (repeatable)", func(s string) error {
			matchers = append(matchers, s)
			return nil
		})
		author = fset.String("author", os.Getenv("USER"), "who creates the silence")
		comment = fset.String("comment", "", "why (required)")
		dur = fset.Duration("duration", 0, "how long, from the start")
		start = fset.String("start", "", "start (RFC 3339); default now")
		end = fset.String("end", "", "end (RFC 3339), instead of --duration")
	case "expire":
	case "list":
		all = fset.Bool("all", false, "include expired silences")
	default:
		fmt.Fprintf(stderr, "hlalert silence: unknown subcommand %q\n", sub)
		silenceUsage(stderr)
		return exitUsage
	}
	fset.Usage = func() {
		silenceUsage(stderr)
		fmt.Fprintln(stderr, "\nflags:")
		fset.PrintDefaults()
	}
	if code, done := parseFlags(fset, args[1:], "", stderr); done {
		return code
	}
	n := 0
	for _, s := range []string{*cfgPath, *stateDir, *apiURL} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		fmt.Fprintln(stderr, "hlalert silence: give exactly one of --config, --state-dir, --url")
		return exitUsage
	}
	if sub != "expire" && fset.NArg() > 0 {
		fmt.Fprintf(stderr, "hlalert silence %s: unexpected arguments %q\n", sub, fset.Args())
		return exitUsage
	}
	var tgt silenceTarget
	switch {
	case *apiURL != "":
		u, err := url.Parse(*apiURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(stderr, "hlalert silence: --url: %q is not an http(s) URL\n", *apiURL)
			return exitUsage
		}
		if u.User != nil {
			fmt.Fprintln(stderr, "hlalert silence: --url: credentials in the URL show in ps; use --user and --password-file")
			return exitUsage
		}
		tgt.url = strings.TrimSuffix(*apiURL, "/")
		if tgt.client, err = silenceClient(*user, *passFile, *caFile); err != nil {
			fmt.Fprintf(stderr, "hlalert silence: %v\n", err)
			return exitUsage
		}
	case *user != "" || *passFile != "" || *caFile != "":
		fmt.Fprintln(stderr, "hlalert silence: --user, --password-file and --ca-file go with --url")
		return exitUsage
	default:
		dir := *stateDir
		if *cfgPath != "" {
			cfg, err := config.LoadFile(*cfgPath)
			if err != nil {
				fmt.Fprintf(stderr, "hlalert silence: %v\n", err)
				return exitUsage
			}
			dir = cfg.StateDir
		}
		s, err := silence.Open(silence.Options{Dir: dir})
		if err != nil {
			fmt.Fprintf(stderr, "hlalert silence: %v\n", err)
			return exitFail
		}
		tgt.store = s
	}

	switch sub {
	case "add":
		if len(matchers) == 0 {
			fmt.Fprintln(stderr, "hlalert silence add: at least one --matcher is required")
			return exitUsage
		}
		if (*dur == 0) == (*end == "") {
			fmt.Fprintln(stderr, "hlalert silence add: give exactly one of --duration and --end")
			return exitUsage
		}
		var ms []silence.Matcher
		for _, m := range matchers {
			p, err := silence.ParseMatchers(m)
			if err != nil {
				fmt.Fprintf(stderr, "hlalert silence add: --matcher: %v\n", err)
				return exitUsage
			}
			ms = append(ms, p...)
		}
		s := silence.Silence{Matchers: ms, CreatedBy: *author, Comment: *comment}
		for _, f := range []struct {
			name, val string
			dst       *time.Time
		}{{"start", *start, &s.StartsAt}, {"end", *end, &s.EndsAt}} {
			if f.val == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, f.val)
			if err != nil {
				fmt.Fprintf(stderr, "hlalert silence add: --%s: %v\n", f.name, err)
				return exitUsage
			}
			*f.dst = t
		}
		if *dur != 0 {
			if *dur < 0 {
				fmt.Fprintln(stderr, "hlalert silence add: --duration must be positive")
				return exitUsage
			}
			base := s.StartsAt
			if base.IsZero() {
				base = time.Now()
			}
			s.EndsAt = base.Add(*dur)
		}
		id, err := tgt.add(ctx, s)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert silence add: %v\n", err)
			return exitFail
		}
		fmt.Fprintln(stdout, id)
	case "expire":
		if fset.NArg() == 0 {
			fmt.Fprintln(stderr, "hlalert silence expire: no silence ID given")
			return exitUsage
		}
		code := exitOK
		for _, id := range fset.Args() {
			if err := tgt.expire(ctx, id); err != nil {
				fmt.Fprintf(stderr, "hlalert silence expire: %v\n", err)
				code = exitFail
				continue
			}
			fmt.Fprintf(stdout, "expired %s\n", id)
		}
		return code
	case "list":
		l, err := tgt.list(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "hlalert silence list: %v\n", err)
			return exitFail
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tMATCHERS\tSTARTS\tENDS\tCREATED BY\tCOMMENT")
		for _, s := range l {
			if s.Status.State == silence.StateExpired && !*all {
				continue
			}
			var ms []string
			for _, m := range s.Matchers {
				ms = append(ms, m.String())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Status.State, strings.Join(ms, ","),
				s.StartsAt.UTC().Format(time.RFC3339), s.EndsAt.UTC().Format(time.RFC3339), s.CreatedBy, oneLine(s.Comment))
		}
		tw.Flush()
	}
	return exitOK
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (t silenceTarget) add(ctx context.Context, s silence.Silence) (string, error) {
	if t.store != nil {
		return t.store.Add(s)
	}
	ms, err := json.Marshal(s.Matchers)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(silence.AddRequest{Matchers: ms, StartsAt: s.StartsAt, EndsAt: s.EndsAt, CreatedBy: s.CreatedBy, Comment: s.Comment})
	if err != nil {
		return "", err
	}
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := t.call(ctx, http.MethodPost, "/api/v1/silences", body, &out); err != nil {
		return "", err
	}
	return out.SilenceID, nil
}

func (t silenceTarget) expire(ctx context.Context, id string) error {
	if t.store != nil {
		return t.store.Expire(id)
	}
	return t.call(ctx, http.MethodDelete, "/api/v1/silence/"+url.PathEscape(id), nil, nil)
}

func (t silenceTarget) list(ctx context.Context) ([]silence.Silence, error) {
	if t.store != nil {
		return t.store.List()
	}
	var out []silence.Silence
	err := t.call(ctx, http.MethodGet, "/api/v1/silences", nil, &out)
	return out, err
}

func (t silenceTarget) call(ctx context.Context, method, path string, body []byte, data any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, t.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&r); err != nil {
		return fmt.Errorf("%s %s: HTTP %d, undecodable response: %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || r.Status != "success" {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, r.Error)
	}
	if data != nil && len(r.Data) > 0 {
		if err := json.Unmarshal(r.Data, data); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// silenceClient builds the HTTP client of --url the way every outgoing
// client is built (alerts/httpclient), after checking the flags: user and
// password file go together, the password file is readable and not empty,
// the CA file holds a PEM certificate.
func silenceClient(user, passFile, caFile string) (*http.Client, error) {
	if (user == "") != (passFile == "") {
		return nil, errors.New("--user and --password-file go together")
	}
	var h config.HTTP
	h.Timeout = 30 * time.Second
	if passFile != "" {
		b, err := os.ReadFile(passFile)
		if err != nil {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		if strings.TrimRight(string(b), "\r\n") == "" {
			return nil, fmt.Errorf("--password-file: %s is empty", passFile)
		}
		h.Client.BasicAuth = &commoncfg.BasicAuth{Username: user, PasswordFile: passFile}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file: no PEM certificate in %s", caFile)
		}
		h.Client.TLSConfig.CAFile = caFile
	}
	return httpclient.New("silence", h)
}
