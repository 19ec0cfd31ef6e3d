package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// A followed input glob: each file is a source judged on its own, and a
// file that appears mid-run joins as one. When one file stops, the alert in
// queue:alerts (under -prefix) names it and only it; the file that joined
// late is not alerted on while it is new. The monitor's samples run on a
// manual clock, one simulated second per step, each once the step's lines
// were read.
func TestFollowedGlobAlertsPerFile(t *testing.T) {
	rdb, url, prefix := testRedis(t)
	ls := readLogins(t, filepath.Join(loginsDir, "data", "logins.jsonl"))
	dir := t.TempDir()
	jobPath := writeLoginsJob(t, dir, "  path: logins-*.jsonl\n")
	files := []string{filepath.Join(dir, "logins-a.jsonl"), filepath.Join(dir, "logins-b.jsonl"), filepath.Join(dir, "logins-c.jsonl")}
	for _, f := range files[:2] {
		writeFile(t, f, "")
	}

	const span = 10 * time.Second
	o := newOptions(jobPath, url, prefix)
	o.watch.Silence = span
	clock := stream.NewManualClock(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	observed := make(chan []metrics.SourceStatus)
	o.watch.Monitor = metrics.SourceConfig{Clock: clock, Every: time.Second,
		OnObserve: func(_ time.Time, st []metrics.SourceStatus) { observed <- st }}
	o.files = stream.FileConfig{PollInterval: 2 * time.Millisecond}
	pipe := make(chan *stream.Pipeline, 1)
	o.onPipeline = func(p *stream.Pipeline) { pipe <- p }

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var stderr syncBuffer
	go func() { done <- run(runCtx, o, &syncBuffer{}, &stderr) }()
	var p *stream.Pipeline
	select {
	case p = <-pipe:
	case err := <-done:
		t.Fatalf("run ended: %v\n%s", err, stderr.String())
	}
	observe := func() []metrics.SourceStatus {
		t.Helper()
		select {
		case st := <-observed:
			return st
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, stderr.String())
		case <-ctx.Done():
			t.Fatal("no sample")
		}
		return nil
	}
	observe()

	next, written := 0, map[string]int64{}
	step := func(active ...string) []metrics.SourceStatus {
		t.Helper()
		for _, f := range active {
			var b strings.Builder
			for range 4 {
				b.Write(ls[next%len(ls)].raw)
				b.WriteByte('\n')
				next++
			}
			fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			require.NoError(t, err)
			_, err = fh.WriteString(b.String())
			require.NoError(t, err)
			require.NoError(t, fh.Close())
			written[f] += 4
		}
		require.Eventually(t, func() bool {
			got := map[string]int64{}
			for _, s := range p.SourceStats() {
				got[s.Name] = s.Events
			}
			for f, n := range written {
				if got[f] != n {
					return false
				}
			}
			return true
		}, 30*time.Second, time.Millisecond, "the pipeline did not read what was written")
		clock.Advance(time.Second)
		return observe()
	}
	alerts := func() []map[string]any {
		t.Helper()
		xs, err := rdb.XRange(ctx, prefix+"queue:alerts", "-", "+").Result()
		require.NoError(t, err)
		out := make([]map[string]any, len(xs))
		for i, x := range xs {
			out[i] = x.Values
		}
		return out
	}

	for range 25 {
		step(files[0], files[1])
	}
	require.Empty(t, alerts())
	// b stops; c appears and is written from now on.
	var st []metrics.SourceStatus
	for range 30 {
		st = step(files[0], files[2])
	}
	states := map[string]metrics.SourceState{}
	for _, s := range st {
		states[s.Source] = s.State
	}
	require.Equal(t, map[string]metrics.SourceState{files[0]: metrics.SourceOK, files[1]: metrics.SourceSilent, files[2]: metrics.SourceOK}, states)
	require.Eventually(t, func() bool { return len(alerts()) == 1 }, 30*time.Second, 5*time.Millisecond)
	require.Equal(t, files[1], alerts()[0]["source"])
	require.Equal(t, "silence", alerts()[0]["kind"])

	stop()
	go func() {
		for range observed {
		}
	}()
	require.NoError(t, <-done, stderr.String())
	require.Contains(t, stderr.String(), "source silence")
}
