package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// /healthz PINGs Redis on a timer: it reports Redis down at the first tick
// after it died, while the pipeline is idle and no lookup asks Redis
// anything (it said "ok" until a lookup failed).
func TestHealthzPingsRedis(t *testing.T) {
	srv := testredis.Start(t)
	input := filepath.Join(t.TempDir(), "logins.jsonl")
	require.NoError(t, os.WriteFile(input, loginLines(t, 10), 0o644))
	addr := fmt.Sprintf("127.0.0.1:%d", testredis.FreePort(t))
	o := newOptions(filepath.Join(loginsDir, "job.yaml"), "redis://"+srv.Addr, "")
	o.input, o.http, o.shutdownTimeout = input, addr, time.Second
	clock := stream.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	probed := make(chan error)
	o.probe = metrics.ProbeConfig{Clock: clock, OnProbe: func(err error) { probed <- err }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, o, io.Discard, io.Discard) }()
	next := func() error {
		t.Helper()
		select {
		case err := <-probed:
			return err
		case err := <-done:
			t.Fatalf("run ended: %v", err)
		case <-ctx.Done():
			t.Fatal("no probe")
		}
		return nil
	}
	healthz := func() (int, metrics.HealthReport) {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/healthz")
		require.NoError(t, err)
		defer resp.Body.Close()
		var r metrics.HealthReport
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
		return resp.StatusCode, r
	}

	require.NoError(t, next(), "the first probe runs at once, once the server listens")
	code, r := healthz()
	require.Equal(t, http.StatusOK, code, "%+v", r)
	require.Equal(t, "ok", r.Checks["redis"])

	srv.Stop()
	clock.Advance(time.Second)
	require.Error(t, next())
	code, r = healthz()
	require.Equal(t, http.StatusServiceUnavailable, code, "%+v", r)
	require.Contains(t, r.Checks["redis"], "probe failed at 2026-03-01T12:00:01Z: ")

	stop()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("run did not end")
	}
}
