package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// The silent collector, end to end: -tracks follows a glob of four files
// written at steady rates, one collector per host. One file stops: within
// 3× the -silence span an alert names that file, and only it, in
// queue:alerts and at the webhook, and /healthz answers 503 naming it.
// When it resumes, a recovered entry follows. Nothing alerts at start-up.
// The monitor's samples run on a manual clock, one simulated second per
// step, each taken once the step's lines were read.
func TestSilenceAlertsNameTheStoppedFile(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	dir := t.TempDir()
	files := make([]string, 4)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("host%d.csv", i))
		require.NoError(t, os.WriteFile(files[i], nil, 0o644))
	}
	pool := strings.SplitAfter(strings.TrimSpace(string(playLines(t, 5000))), "\n")

	var hookMu sync.Mutex
	var hooked []metrics.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a metrics.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hookMu.Lock()
		hooked = append(hooked, a)
		hookMu.Unlock()
	}))
	defer hook.Close()

	const span = 10 * time.Second
	addr := fmt.Sprintf("127.0.0.1:%d", testredis.FreePort(t))
	o, err := parseFlags([]string{"-tracks", filepath.Join(dir, "*.csv"), "-redis", srv.Addr, "-http", addr,
		"-silence", span.String(), "-alert-webhook", hook.URL + "/alerts", "-progress", "off", "-shutdown-timeout", "2s"}, &bytes.Buffer{})
	require.NoError(t, err)
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	clock := stream.NewManualClock(t0)
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
	go func() { done <- run(runCtx, o, io.Discard, io.Discard) }()
	var p *stream.Pipeline
	select {
	case p = <-pipe:
	case err := <-done:
		t.Fatalf("run ended: %v", err)
	}
	observe := func() []metrics.SourceStatus {
		t.Helper()
		select {
		case st := <-observed:
			return st
		case err := <-done:
			t.Fatalf("run ended: %v", err)
		case <-ctx.Done():
			t.Fatal("no sample")
		}
		return nil
	}
	observe() // the first sample, at start

	next, written := 0, map[string]int64{}
	// step appends 5 plays to each active file, waits until the pipeline
	// counted them, then moves the monitor's clock a second on.
	step := func(active func(i int) bool) []metrics.SourceStatus {
		t.Helper()
		var want int64
		for i, f := range files {
			if active(i) {
				var b strings.Builder
				for range 5 {
					b.WriteString(pool[next%len(pool)])
					next++
				}
				fh, err := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = fh.WriteString(b.String())
				require.NoError(t, err)
				require.NoError(t, fh.Close())
				written[f] += 5
			}
			want += written[f]
		}
		require.Eventually(t, func() bool {
			var n int64
			for _, s := range p.SourceStats() {
				n += s.Events
			}
			return n == want
		}, 30*time.Second, time.Millisecond)
		clock.Advance(time.Second)
		return observe()
	}
	all := func(int) bool { return true }
	allButOne := func(i int) bool { return i != 2 }
	alerts := func() []map[string]any {
		t.Helper()
		xs, err := rdb.XRange(ctx, "queue:alerts", "-", "+").Result()
		require.NoError(t, err)
		out := make([]map[string]any, len(xs))
		for i, x := range xs {
			out[i] = x.Values
		}
		return out
	}

	// Start-up and steady state: every file judged ok, nothing alerts.
	var st []metrics.SourceStatus
	for range 25 {
		st = step(all)
	}
	require.Len(t, st, 4)
	for _, s := range st {
		require.Equal(t, metrics.SourceOK, s.State, "%+v", s)
		require.Contains(t, files, s.Source)
	}
	require.Empty(t, alerts())

	// host2 stops: silent within 3 spans, and only it.
	silentAt := -1
	for k := range 30 {
		st = step(allButOne)
		if silentAt < 0 && st[2].State == metrics.SourceSilent {
			silentAt = k + 1
		}
	}
	require.Positive(t, silentAt, "host2 never judged silent: %+v", st)
	require.LessOrEqual(t, time.Duration(silentAt)*time.Second, 3*span)
	for i, s := range st {
		if i != 2 {
			require.Equal(t, metrics.SourceOK, s.State, "%+v", s)
		}
	}
	require.Eventually(t, func() bool { return len(alerts()) == 1 }, 30*time.Second, 5*time.Millisecond)
	a := alerts()[0]
	require.Equal(t, files[2], a["source"])
	require.Equal(t, "silence", a["kind"])
	for _, f := range []string{"observed", "expected", "since", "at"} {
		require.NotEmpty(t, a[f], f)
	}
	require.Eventually(t, func() bool { hookMu.Lock(); defer hookMu.Unlock(); return len(hooked) == 1 }, 30*time.Second, 5*time.Millisecond)
	hookMu.Lock()
	require.Equal(t, files[2], hooked[0].Source)
	require.Equal(t, metrics.AlertSilence, hooked[0].Kind)
	hookMu.Unlock()

	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	var rep metrics.HealthReport
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rep))
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	body, _ := json.Marshal(rep)
	require.Contains(t, string(body), files[2])
	for _, f := range []string{files[0], files[1], files[3]} {
		require.NotContains(t, string(body), f)
	}

	// host2 resumes: recovered.
	for range 5 {
		st = step(all)
	}
	require.Equal(t, metrics.SourceOK, st[2].State)
	require.Eventually(t, func() bool { return len(alerts()) == 2 }, 30*time.Second, 5*time.Millisecond)
	require.Equal(t, files[2], alerts()[1]["source"])
	require.Equal(t, "recovered", alerts()[1]["kind"])
	require.Eventually(t, func() bool { hookMu.Lock(); defer hookMu.Unlock(); return len(hooked) == 2 }, 30*time.Second, 5*time.Millisecond)

	// The history of each file's hours is kept in Redis when the run ends.
	stop()
	// The monitor's last sample is taken with nobody reading OnObserve.
	go func() {
		for range observed {
		}
	}()
	require.NoError(t, <-done)
	n, err := rdb.Exists(ctx, "source:history:"+files[0]).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}
