package main

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream/checkpoint"
	"github.com/stretchr/testify/require"
)

// globCheckpointLines returns the lines a followed glob's checkpoint
// covers, over all its files (0 when there is none).
func globCheckpointLines(t *testing.T, rdb *redis.Client, prefix, job, pattern string) int64 {
	t.Helper()
	// Read without taking an epoch, which Load would, fencing the running
	// process.
	cp, err := checkpoint.NewRedis(rdb, prefix+"checkpoint:"+job+"/").Header(context.Background(), job+"/"+pattern+"/-1")
	require.NoError(t, err)
	if cp == nil {
		return 0
	}
	offs, err := cp.SourceOffsets()
	require.NoError(t, err)
	var n int64
	for _, o := range offs {
		n += o.Line
	}
	return n
}

// waitGlobCheckpoint polls Redis until the glob's checkpoint covers n
// lines; it fails the test if the process ends or two minutes pass. The
// process is outside the test: polling Redis is how it sees it.
func waitGlobCheckpoint(t *testing.T, rdb *redis.Client, prefix, pattern string, n int64, p *sigProc) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for globCheckpointLines(t, rdb, prefix, "logins", pattern) < n {
		select {
		case <-p.done:
			t.Fatalf("the process ended before its checkpoint covered %d lines:\nstderr:\n%s", n, p.stderr)
		case <-time.After(5 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint of %d lines within two minutes:\nstderr:\n%s", n, p.stderr)
	}
}

// stopSigProc stops p with SIGTERM and requires a clean exit.
func stopSigProc(t *testing.T, p *sigProc) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	code, _ := p.exit(t, time.Minute)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
}

// appendInRounds appends parts[i] to paths[i] in 50 rounds, a fiftieth of
// each a round, 40 ms apart, and reports on the channel when done.
func appendInRounds(paths []string, parts [][]string) <-chan error {
	appended := make(chan error, 1)
	go func() {
		for round := 0; round < 50; round++ {
			for i, f := range parts {
				chunk := f[len(f)*round/50 : len(f)*(round+1)/50]
				fh, err := os.OpenFile(paths[i], os.O_APPEND|os.O_WRONLY, 0)
				if err == nil {
					_, err = fh.WriteString(strings.Join(chunk, ""))
					err = errors.Join(err, fh.Close())
				}
				if err != nil {
					appended <- err
					return
				}
			}
			time.Sleep(40 * time.Millisecond) // the pace of the appends, not a wait for a condition
		}
		appended <- nil
	}()
	return appended
}

// killFiveTimes starts the runner (start) five times and SIGKILLs it at a
// random point after its checkpoint of pattern (the job "logins") covers
// a further sixth of the n lines.
func killFiveTimes(t *testing.T, rdb *redis.Client, prefix, pattern string, n int64, seed uint64, start func() *sigProc) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), seed))
	for kill := 0; kill < 5; kill++ {
		at := n*int64(kill)/6 + r.Int64N(n/6)
		p := start()
		waitGlobCheckpoint(t, rdb, prefix, pattern, at, p)
		time.Sleep(time.Duration(r.Int64N(int64(100 * time.Millisecond)))) // a random kill point, not a wait
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		<-p.done
		t.Logf("kill %d: checkpoint at %d of %d lines", kill+1, globCheckpointLines(t, rdb, prefix, "logins", pattern), n)
	}
}

// A followed glob of three files, SIGKILLed five times at random points
// while lines are appended to each, and restarted each time, leaves Redis
// as a clean run over the same files does: each file resumes at its own
// offset, the shared state with them. (The files are split by user, the
// key of every window built, so that how the files interleave does not
// change what is decided; lists are compared as multisets.)
func TestFollowedGlobCrashRecoveryEqualsCleanRun(t *testing.T) {
	if testing.Short() {
		t.Skip("long: SIGKILLs the runner several times")
	}
	rdb, url, prefix := testRedis(t)
	ls := readLogins(t, filepath.Join(loginsDir, "data", "logins.jsonl"))
	n := int64(len(ls))
	byFile := make([][]string, 3)
	for _, l := range ls {
		h := fnv.New32a()
		h.Write([]byte(l.User))
		f := h.Sum32() % 3
		byFile[f] = append(byFile[f], string(l.raw)+"\n")
	}
	jobDir := t.TempDir()
	jobPath := writeLoginsJob(t, jobDir, "  path: logins-*.jsonl\n",
		"  - name: failure_spike\n", "  - name: failure_spike\n    enabled: false\n")
	args := func(pattern, prefix string) []string {
		return []string{"-job", jobPath, "-input", pattern, "-redis", url, "-prefix", prefix, "-progress", "off",
			"-silence", "0", "-checkpoint-interval", "100ms", "-parallelism", "1"}
	}
	fileName := func(dir string, i int) string { return filepath.Join(dir, "logins-"+string(rune('a'+i))+".jsonl") }

	// The clean run: the whole files, followed, stopped once all of them
	// are checkpointed (written).
	ref, crash := prefix+"ref:", prefix+"crash:"
	refDir := t.TempDir()
	for i, f := range byFile {
		writeFile(t, fileName(refDir, i), strings.Join(f, ""))
	}
	refPattern := filepath.Join(refDir, "logins-*.jsonl")
	p := startSigProc(t, args(refPattern, ref)...)
	waitGlobCheckpoint(t, rdb, ref, refPattern, n, p)
	stopSigProc(t, p)
	want := targetsMultiset(t, rdb, ref)
	require.Contains(t, want, "security:alerts")

	// The crash run: each file gets its lines in 50 appends while the
	// runner is killed and restarted five times.
	dir := t.TempDir()
	for i := range byFile {
		writeFile(t, fileName(dir, i), "")
	}
	pattern := filepath.Join(dir, "logins-*.jsonl")
	paths := make([]string, len(byFile))
	for i := range byFile {
		paths[i] = fileName(dir, i)
	}
	appended := appendInRounds(paths, byFile)
	killFiveTimes(t, rdb, crash, pattern, n, 3, func() *sigProc { return startSigProc(t, args(pattern, crash)...) })
	require.NoError(t, <-appended)
	p = startSigProc(t, args(pattern, crash)...)
	waitGlobCheckpoint(t, rdb, crash, pattern, n, p)
	stopSigProc(t, p)
	require.Contains(t, p.stderr.String(), "source resumed from its checkpoint")

	got := targetsMultiset(t, rdb, crash)
	require.Equal(t, len(want), len(got))
	for k, v := range want {
		require.Equal(t, v, got[k], "key %s", k)
	}
}
