package email

import (
	"context"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Transport delivers one raw message. An error means the server did not
// accept it (the message stays queued).
type Transport interface {
	Deliver(ctx context.Context, from string, rcpts []string, msg []byte) error
}

// smtpTransport delivers through go-mail: it connects, applies the TLS
// policy and authenticates with go-mail, then sends the queued bytes
// as they are (MAIL FROM, RCPT TO, DATA). A new connection per delivery
// run re-reads secret files (XOAUTH2 tokens rotate).
type smtpTransport struct {
	s       *settings
	timeout time.Duration
}

func (t *smtpTransport) client() (*gomail.Client, error) {
	s := t.s
	tc, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(t.timeout),
		gomail.WithTLSConfig(tc),
	}
	if s.cfg.Hello != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.Hello))
	}
	switch {
	case s.implicit:
		opts = append(opts, gomail.WithSSL())
	case s.required:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	user := s.cfg.AuthUsername
	var mech gomail.SMTPAuthType
	var pass string
	switch s.mech {
	case "":
		switch {
		case user == "":
			mech = gomail.SMTPAuthNoAuth
		case s.cfg.AuthSecret != "" || s.cfg.AuthSecretFile != "":
			mech = gomail.SMTPAuthCramMD5
			pass, err = secret(s.cfg.AuthSecret, s.cfg.AuthSecretFile)
		default:
			mech = gomail.SMTPAuthAutoDiscover
			pass, err = secret(s.cfg.AuthPassword, s.cfg.AuthPasswordFile)
		}
	case "CRAM-MD5":
		mech = gomail.SMTPAuthCramMD5
		pass, err = secret(s.cfg.AuthSecret, s.cfg.AuthSecretFile)
	case "XOAUTH2":
		mech = gomail.SMTPAuthXOAUTH2
		pass, err = secret("", s.cfg.AuthTokenFile)
		if err == nil && pass == "" {
			err = fmt.Errorf("auth_token_file %s is empty", s.cfg.AuthTokenFile)
		}
	default:
		mech = gomail.SMTPAuthType(s.mech)
		pass, err = secret(s.cfg.AuthPassword, s.cfg.AuthPasswordFile)
	}
	if err != nil {
		return nil, fmt.Errorf("smtp auth %s: %w", s.mech, err)
	}
	opts = append(opts, gomail.WithSMTPAuth(mech))
	if mech != gomail.SMTPAuthNoAuth {
		opts = append(opts, gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return c, nil
}

func (t *smtpTransport) policy() string {
	switch {
	case t.s.implicit:
		return "implicit TLS"
	case t.s.required:
		return "STARTTLS required"
	default:
		return "STARTTLS if offered, else plaintext (require_tls: false)"
	}
}

// Deliver implements Transport.
func (t *smtpTransport) Deliver(ctx context.Context, from string, rcpts []string, msg []byte) error {
	c, err := t.client()
	if err != nil {
		return err
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s:%d (%s): %w", t.s.host, t.s.port, t.policy(), err)
	}
	defer func() { _ = c.CloseWithSMTPClient(sc) }()
	if err := sc.Mail("<" + from + ">"); err != nil {
		return fmt.Errorf("smtp MAIL FROM %s: %w", from, err)
	}
	for _, r := range rcpts {
		if err := sc.Rcpt("<" + r + ">"); err != nil {
			return fmt.Errorf("smtp RCPT TO %s: %w", r, err)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		_ = w.Close()
		return fmt.Errorf("smtp DATA write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA end: %w", err)
	}
	return nil
}
