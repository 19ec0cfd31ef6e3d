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

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream/kafka"
)

// outWatch is a process's output, which a test waits on as it is written
// (each write wakes the waiters: no polling).
type outWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutWatch() *outWatch { return &outWatch{changed: make(chan struct{})} }

func (w *outWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *outWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// wait returns once the output matches re; it fails the test if the
// process ends or a minute passes first.
func (w *outWatch) wait(t *testing.T, p *sigProc, re string) {
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

// sigProc is the binary running in the background, to be signalled.
type sigProc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr *outWatch
	done           chan struct{}
	err            error
}

func startSigProc(t *testing.T, args ...string) *sigProc {
	t.Helper()
	p := &sigProc{cmd: exec.Command(buildBinary(t), args...), stdout: newOutWatch(), stderr: newOutWatch(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	stdin, err := p.cmd.StdinPipe()
	require.NoError(t, err)
	p.stdin = stdin
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exit waits (at most within) for the process to end and returns its exit
// status and how long it took.
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

// playLines returns the first n lines of the sample plays.
func playLines(t *testing.T, n int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("data", "plays.csv"))
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	require.Greater(t, len(lines), n)
	return []byte(strings.Join(lines[:n], ""))
}

// A -once run stopped by SIGINT or SIGTERM before the end of its input
// (stdin, still open) drains what it read, says on the summary's first
// line that it was interrupted, and exits 130 or 143 as a shell reports a
// process the signal ended; the same run to the end of its input exits 0.
// (What stdin holds is read at once, though it stays open: the 5000
// plays are in before the signal.)
func TestOnceInterruptedExitCode(t *testing.T) {
	plays := playLines(t, 5000)
	for _, c := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGINT, "SIGINT", 130}, {syscall.SIGTERM, "SIGTERM", 143}} {
		t.Run(c.name, func(t *testing.T) {
			p := startSigProc(t, "-tracks", "-", "-once", "-progress", "on")
			_, err := p.stdin.Write(plays)
			require.NoError(t, err)
			p.stderr.wait(t, p, `in 5000 `) // the progress line: the pipeline is running
			require.NoError(t, p.cmd.Process.Signal(c.sig))
			code, _ := p.exit(t, time.Minute)
			out := p.stdout.String()
			require.Equal(t, c.code, code, "stdout:\n%s\nstderr:\n%s", out, p.stderr)
			require.Contains(t, out, "interrupted by "+c.name+" before the end of the input: what was read is written, the counts are partial\nevents: 5000 in,")
			require.Regexp(t, `(?m)^written: ads=\d+ `, out)
			require.NotContains(t, p.stderr.String(), "musicstream:", "an interruption is not an error")
		})
	}
	t.Run("complete", func(t *testing.T) {
		p := startSigProc(t, "-tracks", "-", "-once", "-progress", "on")
		_, err := p.stdin.Write(plays)
		require.NoError(t, err)
		require.NoError(t, p.stdin.Close())
		code, _ := p.exit(t, time.Minute)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		require.Contains(t, p.stdout.String(), "events: 5000 in,")
		require.NotContains(t, p.stdout.String(), "interrupted")
	})
}

// summaryCounts reads a summary line such as "written: ads=3 interest=1".
func summaryCounts(t *testing.T, out, label string) map[string]int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + label + `: (.*)$`).FindStringSubmatch(out)
	counts := map[string]int64{}
	if m == nil {
		return counts
	}
	for _, kv := range regexp.MustCompile(`(\w+)=(\d+)`).FindAllStringSubmatch(m[1], -1) {
		counts[kv[1]] = atoi(t, kv[2])
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
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "plays"), kfake.GroupMinSessionTimeout(200*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	brokers := strings.Join(c.ListenAddrs(), ",")

	d := gen.Generate(gen.Config{Seed: 11, Plays: 6000, Customers: 150, Tracks: 60, MeanGap: time.Second,
		Repeats: 30, NearMisses: 5, Duplicates: 0.01, MaxDelay: time.Minute})
	// The plays after Redis dies are of customers already cached: they are
	// processed, and their outputs wait for Redis in the targets.
	first, rest := d.Plays[:4000], d.Plays[4000:]
	seen := map[int64]bool{}
	for _, pl := range first {
		seen[pl.CustomerID] = true
	}
	var second []gen.Play
	var maxID int64
	for _, pl := range d.Plays {
		maxID = max(maxID, pl.EventID)
	}
	for _, pl := range rest {
		if seen[pl.CustomerID] {
			second = append(second, pl)
		}
	}
	// A play after the first ones, of a customer of theirs: once the run
	// has taken it in, the first ones were processed (their lookups done)
	// and its own lookup is a cache hit.
	marker := first[len(first)-1]
	marker.EventID = maxID + 1
	produce := func(plays []gen.Play) {
		var buf bytes.Buffer
		require.NoError(t, gen.WritePlays(&buf, plays))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n, err := kafka.ProduceLines(ctx, c.ListenAddrs(), "plays", &buf, kafka.ProducerConfig{Key: kafka.CSVColumn(1)})
		require.NoError(t, err)
		require.Equal(t, int64(len(plays)), n)
	}
	dir := t.TempDir()
	cust := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
	music := writeFile(t, dir, "music.csv", func(b *bytes.Buffer) error { return gen.WriteMusic(b, d.Tracks) })
	args := func(group, prefix string, extra ...string) []string {
		return append([]string{"-kafka", brokers, "-topic", "plays", "-group", group, "-redis", url, "-prefix", prefix,
			"-customers", cust, "-music", music, "-kafka-session-timeout", "1s", "-checkpoint-interval", "200ms"}, extra...)
	}

	produce(first)
	p := startSigProc(t, args("run", "run:", "-progress", "on", "-shutdown-timeout", "2s", "-checkpoint-interval", "1h")...)
	p.stderr.wait(t, p, fmt.Sprintf(`in %d `, len(first)))
	produce([]gen.Play{marker})
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
	require.Regexp(t, `musicstream: -shutdown-timeout 2s passed before what was read was processed and written \([1-9]\d* outputs not written: `, p.stderr.String())
	written, pending := summaryCounts(t, out, "written"), summaryCounts(t, out, "pending")
	require.NotEmpty(t, pending, "outputs waited for Redis:\n%s", out)

	// What the summary counts as written is what Redis holds.
	srv.Restart(t)
	ctx := context.Background()
	require.Equal(t, written["ads"], rdb.XLen(ctx, "run:queue:ads").Val(), out)
	require.Equal(t, written["interest"], rdb.XLen(ctx, "run:queue:interest").Val(), out)
	keys, err := rdb.Keys(ctx, "run:checkpoint:*").Result()
	require.NoError(t, err)
	var ckpts []string
	for _, k := range keys {
		if !strings.HasSuffix(k, ":epoch") { // the assignments' fencing epochs
			ckpts = append(ckpts, k)
		}
	}
	require.Empty(t, ckpts, "no checkpoint was saved past the unwritten outputs")

	// A restart writes what was not: the targets equal a clean run's.
	again := startSigProc(t, args("run", "run:", "-once", "-progress", "off")...)
	code, _ = again.exit(t, 2*time.Minute)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", again.stdout, again.stderr)
	ref := startSigProc(t, args("ref", "ref:", "-once", "-progress", "off")...)
	code, _ = ref.exit(t, 2*time.Minute)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", ref.stdout, ref.stderr)
	want, got := targetDigest(t, rdb, "ref:"), targetDigest(t, rdb, "run:")
	require.Contains(t, want, "queue:ads")
	require.Equal(t, len(want), len(got))
	for k, v := range want {
		require.Equal(t, v, got[k], "key %s", k)
	}
}
