package targets

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// respConn is one connection of the sink's own to a single Redis, speaking
// RESP2, for the WATCHed transactions of plain.go: it writes the commands
// straight from a chunk's encoding and reads the replies without keeping
// them, where go-redis makes a command object, an argument slice and a
// parsed reply per command.
type respConn struct {
	opt *redis.Options
	c   net.Conn
	w   *bufio.Writer
	r   *bufio.Reader
	num []byte
}

// plainDialable says whether a sink can open its own connections with the
// client's options: not with credentials that a provider hands out.
func plainDialable(opt *redis.Options) bool {
	return opt.CredentialsProvider == nil && opt.CredentialsProviderContext == nil && opt.StreamingCredentialsProvider == nil
}

// connect opens the connection if it is not open: dial, AUTH, SELECT.
func (rc *respConn) connect(ctx context.Context) error {
	if rc.c != nil {
		return nil
	}
	opt := rc.opt
	network := opt.Network
	if network == "" {
		network = "tcp"
	}
	var c net.Conn
	var err error
	if opt.Dialer != nil {
		c, err = opt.Dialer(ctx, network, opt.Addr)
	} else {
		d := net.Dialer{Timeout: opt.DialTimeout}
		if c, err = d.DialContext(ctx, network, opt.Addr); err == nil && opt.TLSConfig != nil {
			c = tls.Client(c, opt.TLSConfig)
		}
	}
	if err != nil {
		return fmt.Errorf("connect to %s: %w", opt.Addr, err)
	}
	rc.c, rc.w, rc.r = c, bufio.NewWriterSize(c, 64<<10), bufio.NewReaderSize(c, 64<<10)
	stop := rc.deadline(ctx)
	defer stop()
	n := 0
	if opt.Password != "" {
		if opt.Username != "" {
			rc.command("AUTH", opt.Username, opt.Password)
		} else {
			rc.command("AUTH", opt.Password)
		}
		n++
	}
	if opt.DB != 0 {
		rc.command("SELECT", strconv.Itoa(opt.DB))
		n++
	}
	if err := rc.w.Flush(); err != nil {
		return rc.fail(err)
	}
	for range n {
		if _, err := rc.reply(); err != nil {
			rc.close()
			return fmt.Errorf("connect to %s: %w", opt.Addr, err)
		}
	}
	return nil
}

// probe runs a script that writes nothing, and returns its error reply.
func (rc *respConn) probe(ctx context.Context) error {
	stop := rc.deadline(ctx)
	defer stop()
	rc.command("EVAL", "return 0", "0")
	if err := rc.w.Flush(); err != nil {
		return rc.fail(err)
	}
	_, err := rc.reply()
	return err
}

// deadline bounds the connection's I/O by ctx (and by the client's read
// timeout, at least 10s per call); stop releases it.
func (rc *respConn) deadline(ctx context.Context) (stop func()) {
	d := time.Now().Add(max(rc.opt.ReadTimeout, 10*time.Second))
	if dl, ok := ctx.Deadline(); ok && dl.Before(d) {
		d = dl
	}
	_ = rc.c.SetDeadline(d)
	c := rc.c
	cancel := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	return func() { cancel() }
}

// fail closes the connection after an I/O error and returns it.
func (rc *respConn) fail(err error) error {
	rc.close()
	return err
}

// close closes the connection (the writer and the reader may both call
// it; the connection stays closed: a new respConn replaces it).
func (rc *respConn) close() {
	if rc.c != nil {
		_ = rc.c.Close()
	}
}

// command writes a command of string arguments.
func (rc *respConn) command(args ...string) {
	rc.arrayHeader(len(args))
	for _, a := range args {
		rc.bulkString(a)
	}
}

func (rc *respConn) arrayHeader(n int) {
	rc.w.WriteByte('*')
	rc.num = strconv.AppendInt(rc.num[:0], int64(n), 10)
	rc.w.Write(rc.num)
	rc.w.WriteString("\r\n")
}

func (rc *respConn) bulkString(s string) {
	rc.w.WriteByte('$')
	rc.num = strconv.AppendInt(rc.num[:0], int64(len(s)), 10)
	rc.w.Write(rc.num)
	rc.w.WriteString("\r\n")
	rc.w.WriteString(s)
	rc.w.WriteString("\r\n")
}

func (rc *respConn) bulk(b []byte) {
	rc.w.WriteByte('$')
	rc.num = strconv.AppendInt(rc.num[:0], int64(len(b)), 10)
	rc.w.Write(rc.num)
	rc.w.WriteString("\r\n")
	rc.w.Write(b)
	rc.w.WriteString("\r\n")
}

// length reads the length of a bulk string or array reply's line (-1:
// null); a bad one breaks the connection.
func (rc *respConn) length(line []byte) (int, error) {
	n, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil {
		return 0, rc.fail(fmt.Errorf("redis: bad reply %q", line))
	}
	return n, nil
}

// respError is an error reply.
type respError string

func (e respError) Error() string { return string(e) }

// reply reads one reply. It returns a simple string or bulk string's
// text, an array's elements (as strings, nil for a null element) if they
// are simple, nil for a null, and an error reply as a respError. An array
// of more than 16 elements (an EXEC's replies) is read through, its error
// elements joined in the error.
func (rc *respConn) reply() (any, error) { return rc.read(true) }

// read reads one reply (see reply), keeping its value if keep.
func (rc *respConn) read(keep bool) (any, error) {
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return nil, rc.fail(err)
	}
	if len(line) < 3 {
		return nil, rc.fail(errors.New("redis: short reply"))
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		if !keep {
			return nil, nil
		}
		return string(body), nil
	case '-':
		return nil, respError(body)
	case ':':
		return string(body), nil
	case '$':
		n, err := rc.length(line)
		if err != nil || n < 0 {
			return nil, err
		}
		if !keep {
			if _, err := rc.r.Discard(n + 2); err != nil {
				return nil, rc.fail(err)
			}
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(rc.r, b); err != nil {
			return nil, rc.fail(err)
		}
		return string(b[:n]), nil
	case '*':
		n, err := rc.length(line)
		if err != nil || n < 0 {
			return nil, err
		}
		keep = keep && n <= 16
		var out []any
		var errs []error
		for range n {
			v, err := rc.read(keep)
			var re respError
			switch {
			case errors.As(err, &re):
				errs = append(errs, re)
			case err != nil:
				return nil, err
			case keep:
				out = append(out, v)
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, errors.Join(errs...)
	}
	return nil, rc.fail(fmt.Errorf("redis: unknown reply %q", line))
}
