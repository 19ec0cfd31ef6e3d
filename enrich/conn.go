package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Connect opens a client for addr and checks it with PING. addr is a
// redis:// or rediss:// (TLS) URL, with an optional ACL user and password and
// a database number (redis://user:password@host:6379/1), or a bare
// host:port. The password never appears in errors or logs.
func Connect(ctx context.Context, addr string, logger *slog.Logger) (*redis.Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opts)
	safe := Redact(addr)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		err = redactErr(fmt.Errorf("enrich: connect to %s: %w", safe, err), opts.Password)
		logger.Error("enrich: redis unreachable", "addr", safe, "err", err)
		return nil, err
	}
	logger.Info("enrich: connected to redis", "addr", safe, "tls", opts.TLSConfig != nil, "db", opts.DB)
	return client, nil
}

// ParseAddr turns a redis:// or rediss:// URL or a bare host:port into
// client options. Errors never contain the password, in any form (the URL
// parser quotes the URL it refuses, escaping a control character in it),
// and quote the URL they name.
func ParseAddr(addr string) (*redis.Options, error) {
	if !strings.Contains(addr, "://") {
		if addr == "" {
			return nil, fmt.Errorf("enrich: empty redis address")
		}
		return &redis.Options{Addr: addr}, nil
	}
	opts, err := redis.ParseURL(addr)
	if err != nil {
		// net/url's error repeats the whole URL: keep only its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, redactErr(fmt.Errorf("enrich: redis URL %q: %w", Redact(addr), err), password(addr))
	}
	return opts, nil
}

// Redact returns addr with the password of its user info replaced by
// "xxxxx", for logs. It works on malformed URLs too; print the result
// quoted (%q) if the URL may hold control characters.
func Redact(addr string) string {
	pw := password(addr)
	if pw == "" {
		return addr
	}
	return strings.ReplaceAll(addr, pw, "xxxxx")
}

// password extracts the password of scheme://user:password@host/... without
// relying on a full URL parse (which may fail on the very URL it is given).
func password(addr string) string {
	i := strings.Index(addr, "://")
	if i < 0 {
		return ""
	}
	rest := addr[i+3:]
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return ""
	}
	info := rest[:at]
	if c := strings.IndexByte(info, ':'); c >= 0 {
		return info[c+1:]
	}
	return info // redis://password@host is a password alone
}

// redactedError hides a password in the text of err while keeping its chain.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr hides pw in the text of err: as it is, and as quoting or URL
// escaping writes it.
func redactErr(err error, pw string) error {
	if err == nil || pw == "" {
		return err
	}
	msg := err.Error()
	quoted := strconv.Quote(pw)
	for _, form := range []string{pw, quoted[1 : len(quoted)-1], url.QueryEscape(pw), url.PathEscape(pw)} {
		msg = strings.ReplaceAll(msg, form, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
