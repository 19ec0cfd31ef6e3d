package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
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
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream/kafka"
)

// sigOut is a process's output, which a test waits on as it is written
// (each write wakes the waiters: no polling).
type sigOut struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newSigOut() *sigOut { return &sigOut{changed: make(chan struct{})} }

func (w *sigOut) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *sigOut) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// wait returns once the output matches re; it fails the test if the
// process ends or a minute passes first.
func (w *sigOut) wait(t *testing.T, p *sigProc, re string) {
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
		case <-p.done:
			t.Fatalf("the process ended before printing %q:\nstdout:\n%s\nstderr:\n%s", re, p.stdout, p.stderr)
		case <-deadline:
			t.Fatalf("no %q within a minute:\nstdout:\n%s\nstderr:\n%s", re, p.stdout, p.stderr)
		}
	}
}

// sigProc is the built command running in the background, to be
// signalled.
type sigProc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr *sigOut
	done           chan struct{}
}

func startSigProc(t *testing.T, args ...string) *sigProc {
	t.Helper()
	p := &sigProc{cmd: exec.Command(rulestreamBinary(t), args...), stdout: newSigOut(), stderr: newSigOut(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	stdin, err := p.cmd.StdinPipe()
	require.NoError(t, err)
	p.stdin = stdin
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exit waits (at most within) for the process to end and returns its exit
// status and how long that took.
func (p *sigProc) exit(t *testing.T, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("still running %s later:\nstdout:\n%s\nstderr:\n%s", within, p.stdout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

// loginLines returns the first n lines of the login sample.
func loginLines(t *testing.T, n int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(loginsDir, "data", "logins.jsonl"))
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	require.Greater(t, len(lines), n)
	return []byte(strings.Join(lines[:n], ""))
}

// A -once run stopped by SIGINT or SIGTERM before the end of its input
// (stdin, still open) drains what it read, says on the summary's first
// line that it was interrupted, and exits 130 or 143 as a shell reports a
// process the signal ended; the same run to the end of its input exits 0.
// (What stdin holds is read at once, though it stays open: the 3000
// lines are in before the signal.)
func TestOnceInterruptedExitCode(t *testing.T) {
	logins := loginLines(t, 3000)
	job := filepath.Join(loginsDir, "job.yaml")
	for _, c := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGINT, "SIGINT", 130}, {syscall.SIGTERM, "SIGTERM", 143}} {
		t.Run(c.name, func(t *testing.T) {
			p := startSigProc(t, "-job", job, "-input", "-", "-once", "-progress", "on")
			_, err := p.stdin.Write(logins)
			require.NoError(t, err)
			p.stderr.wait(t, p, `in 3000 `) // the progress line: the pipeline is running
			require.NoError(t, p.cmd.Process.Signal(c.sig))
			code, _ := p.exit(t, time.Minute)
			out := p.stdout.String()
			require.Equal(t, c.code, code, "stdout:\n%s\nstderr:\n%s", out, p.stderr)
			require.Contains(t, out, "interrupted by "+c.name+" before the end of the input: what was read is written, the counts are partial\nevents: 3000 in,")
			require.Regexp(t, `(?m)^written: alerts=\d+ audit=\d+ `, out)
			require.NotContains(t, p.stderr.String(), "rulestream:", "an interruption is not an error")
		})
	}
	t.Run("complete", func(t *testing.T) {
		p := startSigProc(t, "-job", job, "-input", "-", "-once", "-progress", "on")
		_, err := p.stdin.Write(logins)
		require.NoError(t, err)
		require.NoError(t, p.stdin.Close())
		code, _ := p.exit(t, time.Minute)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		require.Contains(t, p.stdout.String(), "events: 3000 in,")
		require.NotContains(t, p.stdout.String(), "interrupted")
	})
}

// summaryCounts reads a summary line such as "written: alerts=3 audit=1".
func summaryCounts(t *testing.T, out, label string) map[string]int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + label + `: (.*)$`).FindStringSubmatch(out)
	counts := map[string]int64{}
	if m == nil {
		return counts
	}
	for _, kv := range regexp.MustCompile(`(\w+)=(\d+)`).FindAllStringSubmatch(m[1], -1) {
		var n int64
		_, err := fmt.Sscan(kv[2], &n)
		require.NoError(t, err)
		counts[kv[1]] = n
	}
	return counts
}

// SIGTERM while Redis is down: the run ends within -shutdown-timeout (not
// 60s), exits 1, and its summary counts as written only what Redis holds,
// the rest as pending; no checkpoint covers the unwritten outputs (nor are
// Kafka offsets committed past them), so that a restart once Redis is back
// writes them: the targets then equal those of a clean run. (The run
// checkpoints only at shutdown: a periodic checkpoint while Redis is down
// fails the run at once, before the signal.)
func TestSIGTERMWhileRedisDown(t *testing.T) {
	srv := testredis.Start(t)
	url := "redis://" + srv.Addr + "/0"
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "logins"), kfake.GroupMinSessionTimeout(200*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)

	// The logins after Redis dies are of users with an account already
	// cached: they are processed, and their outputs wait for Redis in the
	// targets.
	ls := readLogins(t, filepath.Join(loginsDir, "data", "logins.jsonl"))
	first, rest := ls[:4000], ls[4000:]
	accounts := map[string]bool{}
	for _, a := range readAccounts(t) {
		accounts[a.user] = true
	}
	seen := map[string]bool{}
	var maxID int64
	for _, l := range first {
		seen[l.User] = seen[l.User] || accounts[l.User]
		maxID = max(maxID, l.ID)
	}
	for _, l := range rest {
		maxID = max(maxID, l.ID)
	}
	var second []login
	for _, l := range rest {
		if seen[l.User] {
			second = append(second, l)
		}
	}
	// A login after the first ones, of a user of theirs with an account:
	// once the run has taken it in, the first ones were processed (their
	// lookups done) and its own lookup is a cache hit.
	marker := first[len(first)-1]
	for i := len(first) - 1; !accounts[marker.User]; i-- {
		marker = first[i]
	}
	was := fmt.Sprintf(`"login_id":%d,`, marker.ID)
	require.Contains(t, string(marker.raw), was)
	marker.ID = maxID + 1
	marker.raw = []byte(strings.Replace(string(marker.raw), was, fmt.Sprintf(`"login_id":%d,`, marker.ID), 1))
	dir := t.TempDir()
	args := func(group, prefix string, extra ...string) []string {
		return append([]string{"-job", writeKafkaLoginsJob(t, filepath.Join(dir, group), c.ListenAddrs(), group), "-redis", url,
			"-prefix", prefix, "-kafka-session-timeout", "1s"}, extra...)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "run"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ref"), 0o755))

	produce := func(ls []login) {
		var buf bytes.Buffer
		for _, l := range ls {
			buf.Write(l.raw)
			buf.WriteByte('\n')
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n, err := kafka.ProduceLines(ctx, c.ListenAddrs(), "logins", &buf, kafka.ProducerConfig{Key: userKey})
		require.NoError(t, err)
		require.Equal(t, int64(len(ls)), n)
	}
	produce(first)
	p := startSigProc(t, args("run", "run:", "-progress", "on", "-shutdown-timeout", "2s", "-checkpoint-interval", "1h")...)
	p.stderr.wait(t, p, fmt.Sprintf(`in %d `, len(first)))
	produce([]login{marker})
	p.stderr.wait(t, p, fmt.Sprintf(`in %d `, len(first)+1))
	srv.Stop()
	produce(second)
	p.stderr.wait(t, p, `msg="write failed, retrying"`) // outputs wait for Redis
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	code, took := p.exit(t, time.Minute)
	out := p.stdout.String()
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, p.stderr)
	require.Less(t, took, 2*time.Second+3*time.Second, "the shutdown is bounded by -shutdown-timeout 2s")
	require.Contains(t, out, "interrupted by SIGTERM: shutdown not finished, outputs not written (below)\n")
	require.Regexp(t, `rulestream: -shutdown-timeout 2s passed before what was read was processed and written \([1-9]\d* outputs not written: `, p.stderr.String())
	written, pending := summaryCounts(t, out, "written"), summaryCounts(t, out, "pending")
	require.NotEmpty(t, pending, "outputs waited for Redis:\n%s", out)

	// What the summary counts as written is what Redis holds.
	srv.Restart(t)
	ctx := context.Background()
	require.Equal(t, written["alerts"], rdb.XLen(ctx, "run:security:alerts").Val(), out)
	var audit int64
	for _, k := range keysUnder(t, rdb, "run:audit:") {
		audit += rdb.LLen(ctx, "run:audit:"+k).Val()
	}
	require.Equal(t, written["audit"], audit, out)
	require.Empty(t, keysUnder(t, rdb, "run:checkpoint:"), "no checkpoint was saved past the unwritten outputs")

	// A restart writes what was not: the targets equal a clean run's.
	again := startSigProc(t, args("run", "run:", "-once", "-progress", "off")...)
	code, _ = again.exit(t, 2*time.Minute)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", again.stdout, again.stderr)
	ref := startSigProc(t, args("ref", "ref:", "-once", "-progress", "off")...)
	code, _ = ref.exit(t, 2*time.Minute)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", ref.stdout, ref.stderr)
	want, got := readLoginTargets(t, rdb, "ref:"), readLoginTargets(t, rdb, "run:")
	require.NotEmpty(t, want.audit)
	sortAlerts(want.alerts)
	sortAlerts(got.alerts)
	// A spike hash holds the count of whichever partition wrote it first
	// (see TestKafkaLogins): only the per-user targets are compared.
	want.spikes, got.spikes = nil, nil
	require.Equal(t, want, got)
}

// userKey keys a login's message by its user, so that a user's logins
// land in one partition.
func userKey(line []byte) []byte {
	_, rest, ok := bytes.Cut(line, []byte(`"user":"`))
	if !ok {
		return nil
	}
	user, _, _ := bytes.Cut(rest, []byte(`"`))
	return user
}
