package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream/checkpoint"
)

// fileCheckpointLine returns the line a followed file's checkpoint
// covers (0 when there is none): the next line to read is one past it.
func fileCheckpointLine(t *testing.T, rdb redis.UniversalClient, prefix, path string) int64 {
	t.Helper()
	// Read without taking an epoch, which Load would, fencing the running
	// process.
	cp, err := checkpoint.NewRedis(rdb, prefix+"checkpoint:").Header(context.Background(), "musicstream/"+path+"/-1")
	require.NoError(t, err)
	if cp == nil {
		return 0
	}
	return cp.Offset - 1
}

// waitCheckpoint polls Redis until the file's checkpoint covers line n
// (true), the process ends, or two minutes pass. The process is outside
// the test: polling Redis is how it sees it.
func waitCheckpoint(t *testing.T, rdb redis.UniversalClient, prefix, path string, n int64, p *sigProc) bool {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if fileCheckpointLine(t, rdb, prefix, path) >= n {
			return true
		}
		select {
		case <-p.done:
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
	return false
}

// A followed file, SIGKILLed five times at random points while lines are
// appended to it, and restarted each time, leaves Redis exactly as a
// clean run over the same file does: each restart resumes at the file's
// checkpointed offset with the state saved with it, and what was written
// after the checkpoint is written again with the same ids, idempotently.
func TestFollowedFileCrashRecoveryEqualsCleanRun(t *testing.T) {
	if testing.Short() {
		t.Skip("long: SIGKILLs the pipeline several times")
	}
	testredis.Run(t, testFollowedFileCrashRecoveryEqualsCleanRun)
}

func testFollowedFileCrashRecoveryEqualsCleanRun(t *testing.T, b testredis.Backend) {
	url, rdb, prefix := testRedisOn(t, b)
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 7, Plays: 60_000, Customers: 2000, Tracks: 200, MeanGap: time.Second,
		Repeats: 120, NearMisses: 30, Duplicates: 0.01, MaxDelay: time.Minute})
	var all bytes.Buffer
	require.NoError(t, gen.WritePlays(&all, d.Plays))
	lines := bytes.SplitAfter(all.Bytes(), []byte("\n"))
	lines = lines[:len(lines)-1] // after the last newline: nothing
	n := int64(len(lines))
	cust := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
	music := writeFile(t, dir, "music.csv", func(b *bytes.Buffer) error { return gen.WriteMusic(b, d.Tracks) })
	args := func(path, prefix string) []string {
		return []string{"-tracks", path, "-customers", cust, "-music", music, "-redis", url, "-prefix", prefix,
			"-progress", "off", "-silence", "0", "-checkpoint-interval", "100ms"}
	}
	stop := func(p *sigProc) {
		t.Helper()
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		code, _ := p.exit(t, time.Minute)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
	}

	// The clean run: the whole file, followed, stopped once all of it is
	// checkpointed (written).
	ref, crash := prefix+"ref:", prefix+"crash:"
	refPath := writeFile(t, dir, "ref.csv", func(b *bytes.Buffer) error { _, err := b.Write(all.Bytes()); return err })
	p := startSigProc(t, args(refPath, ref)...)
	require.True(t, waitCheckpoint(t, rdb, ref, refPath, n, p), "stderr:\n%s", p.stderr)
	stop(p)
	want := targetDigest(t, rdb, ref)
	require.Contains(t, want, "queue:ads")
	require.Contains(t, want, "queue:interest")
	total := rdb.XLen(context.Background(), ref+"queue:ads").Val()

	// The crash run: the lines arrive in 100 appends while the process is
	// killed and restarted five times, at random points of its progress.
	path := dir + "/live.csv"
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	appended := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			appended <- err
			return
		}
		defer f.Close()
		step := len(lines)/100 + 1
		for i := 0; i < len(lines); i += step {
			if _, err := f.Write(bytes.Join(lines[i:min(i+step, len(lines))], nil)); err != nil {
				appended <- err
				return
			}
			time.Sleep(40 * time.Millisecond) // the pace of the appends, not a wait for a condition
		}
		appended <- nil
	}()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for kill := 0; kill < 5; kill++ {
		// Kill i comes once the checkpoint has passed a random line of
		// the i-th sixth of the file, at a random moment of the checkpoint
		// interval after that: outputs past the checkpoint are written or
		// on their way.
		at := n*int64(kill)/6 + r.Int64N(n/6)
		p := startSigProc(t, args(path, crash)...)
		require.True(t, waitCheckpoint(t, rdb, crash, path, at, p), "kill %d: no checkpoint past line %d: stderr:\n%s", kill+1, at, p.stderr)
		time.Sleep(time.Duration(r.Int64N(int64(100 * time.Millisecond)))) // a random kill point, not a wait
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		<-p.done
		t.Logf("kill %d: checkpoint at line %d of %d, %d of %d ads written", kill+1, fileCheckpointLine(t, rdb, crash, path), n,
			rdb.XLen(context.Background(), crash+"queue:ads").Val(), total)
	}
	require.NoError(t, <-appended)
	// The last run reads only what follows the checkpoint, resuming the
	// state saved with it.
	from := fileCheckpointLine(t, rdb, crash, path)
	p = startSigProc(t, args(path, crash)...)
	require.True(t, waitCheckpoint(t, rdb, crash, path, n, p), "stderr:\n%s", p.stderr)
	stop(p)
	require.Contains(t, p.stderr.String(), "source resumed from its checkpoint")
	require.Contains(t, p.stdout.String(), fmt.Sprintf("events: %d in,", n-from), "the last run read the lines after its checkpoint, once")

	got := targetDigest(t, rdb, crash)
	require.Equal(t, len(want), len(got))
	for k, v := range want {
		require.Equal(t, v, got[k], "key %s", k)
	}
}
