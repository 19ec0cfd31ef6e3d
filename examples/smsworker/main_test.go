package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/testredis"
)

// buildWorker builds the command into a temporary directory.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "smsworker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// logWatch is a process's output, which a test waits on as it is written.
type logWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// wait returns once the output matches re, failing the test if the
// process ends (done) or a minute passes first.
func (w *logWatch) wait(t *testing.T, done <-chan struct{}, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(time.Minute)
	for {
		w.mu.Lock()
		ok, ch := rx.Match(w.buf.Bytes()), w.changed
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-done:
			t.Fatalf("the worker ended before logging %q:\n%s", re, w)
		case <-deadline:
			t.Fatalf("no %q within a minute:\n%s", re, w)
		}
	}
}

// The worker reads a password-protected Redis given as a URL
// (redis://:password@host:port, which it took for a host:port: "too many
// colons"), sends its SMS, and logs the URL with the password hidden; a
// URL it cannot parse (a control character) is an error that hides the
// password too.
func TestPasswordURLNeverLogged(t *testing.T) {
	const pw = "s3cret-pw"
	srv := testredis.Start(t, "--requirepass", pw)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: pw})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: "queue:sms",
		Values: []any{"customer_id", "42", "name", "Ann", "offer_id", "o1"}}).Err())
	bin := buildWorker(t)

	cmd := exec.Command(bin, "-redis", "redis://:"+pw+"@"+srv.Addr, "-consumer", "t")
	logs := &logWatch{changed: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	logs.wait(t, done, `msg=sms entry=\S+ customer_id=42 name=Ann offer_id=o1`)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the worker did not stop")
	}
	require.Equal(t, 0, cmd.ProcessState.ExitCode(), "%s", logs)
	require.Contains(t, logs.String(), `msg="smsworker started" redis=redis://:xxxxx@`+srv.Addr+` db=0`)
	require.NotContains(t, logs.String(), pw)
	require.Zero(t, rdb.XLen(ctx, "queue:sms:dead").Val())

	out, err := exec.Command(bin, "-redis", "redis://:"+pw+"@"+srv.Addr+"\x01/0").CombinedOutput()
	require.Error(t, err)
	require.Equal(t, `smsworker: enrich: redis URL "redis://:xxxxx@`+srv.Addr+`\x01/0": net/url: invalid control character in URL`+"\n", string(out))
	require.False(t, strings.Contains(string(out), pw))
}
