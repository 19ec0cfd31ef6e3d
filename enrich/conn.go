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

// Connect opens a client for addr and checks it with PING. addr is what a
// binary's -redis flag takes: one address, a redis:// or rediss:// (TLS)
// URL with an optional ACL user and password and a database number
// (redis://user:password@host:6379/1) or a bare host:port, gives a
// *redis.Client; several, separated by commas (host:port,host:port,...),
// give a *redis.ClusterClient for the Redis Cluster they belong to (see
// Open). The password never appears in errors or logs.
func Connect(ctx context.Context, addr string, logger *slog.Logger) (redis.UniversalClient, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client, err := Open(addr, -1)
	if err != nil {
		return nil, err
	}
	safe := Redact(addr)
	pw := password(firstAddr(addr))
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		err = redactErr(fmt.Errorf("enrich: connect to %s: %w", safe, err), pw)
		logger.Error("enrich: redis unreachable", "addr", safe, "err", err)
		return nil, err
	}
	switch c := client.(type) {
	case *redis.ClusterClient:
		o := c.Options()
		logger.Info("enrich: connected to redis cluster", "addrs", safe, "tls", o.TLSConfig != nil)
	case *redis.Client:
		o := c.Options()
		logger.Info("enrich: connected to redis", "addr", safe, "tls", o.TLSConfig != nil, "db", o.DB)
	}
	return client, nil
}

// Open returns a client for addr (see Connect) without contacting Redis:
// a *redis.Client for one address, a *redis.ClusterClient for several
// (IsCluster). db, when not negative, replaces the database number of the
// address; a cluster has database 0 only, so another number is an error.
func Open(addr string, db int) (redis.UniversalClient, error) {
	if IsCluster(addr) {
		opts, err := ParseClusterAddr(addr)
		if err != nil {
			return nil, err
		}
		if db > 0 {
			return nil, fmt.Errorf("enrich: a Redis Cluster has database 0 only, not %d", db)
		}
		return redis.NewClusterClient(opts), nil
	}
	opts, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if db >= 0 {
		opts.DB = db
	}
	return redis.NewClient(opts), nil
}

// IsCluster reports whether addr names several servers (host:port,host:port,...):
// the nodes of a Redis Cluster.
func IsCluster(addr string) bool { return strings.Contains(addr, ",") }

// ParseClusterAddr turns a comma-separated list of addresses, each a bare
// host:port or a redis:// or rediss:// URL, into cluster client options.
// The user, password, TLS setting and timeouts are those of the first
// address; the client finds the other nodes from any of them. A database
// number other than 0 is an error: a cluster has no other.
func ParseClusterAddr(addr string) (*redis.ClusterOptions, error) {
	var opts *redis.ClusterOptions
	for i, a := range strings.Split(addr, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, fmt.Errorf("enrich: redis cluster address %d of %q is empty", i+1, Redact(addr))
		}
		o, err := ParseAddr(a)
		if err != nil {
			return nil, err
		}
		if o.DB != 0 {
			return nil, fmt.Errorf("enrich: redis cluster address %q: database %d (a cluster has database 0 only)", Redact(a), o.DB)
		}
		if opts == nil {
			opts = &redis.ClusterOptions{Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
				ClientName: o.ClientName, Protocol: o.Protocol, DialTimeout: o.DialTimeout,
				ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize,
				MinIdleConns: o.MinIdleConns, MaxRetries: o.MaxRetries}
		}
		opts.Addrs = append(opts.Addrs, o.Addr)
	}
	return opts, nil
}

// firstAddr returns the first address of a comma-separated list.
func firstAddr(addr string) string {
	a, _, _ := strings.Cut(addr, ",")
	return a
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
	if IsCluster(addr) {
		parts := strings.Split(addr, ",")
		for i, p := range parts {
			parts[i] = Redact(p)
		}
		return strings.Join(parts, ",")
	}
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
