package metrics_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// healthz asks h for its report.
func healthz(t *testing.T, h http.Handler) (int, metrics.HealthReport) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	var r metrics.HealthReport
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r), rec.Body.String())
	return rec.Code, r
}

// A probe PINGs Redis on its timer: /healthz reports Redis down at the
// first tick after it died, though nothing else asked Redis anything, and
// up again at the first tick after it is back.
func TestProbeReportsRedisDownWithinItsPeriod(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	clock := stream.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	probed := make(chan error)
	probe, err := metrics.NewProbe(func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		metrics.ProbeConfig{Every: 5 * time.Second, Clock: clock, OnProbe: func(err error) { probed <- err }})
	require.NoError(t, err)
	h := metrics.HealthHandler(metrics.HealthConfig{Checks: map[string]metrics.Check{"redis": probe.Check}, Clock: clock})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- probe.Run(ctx) }()
	next := func() error {
		t.Helper()
		select {
		case err := <-probed:
			return err
		case <-ctx.Done():
			t.Fatal("no probe")
			return nil
		}
	}
	require.NoError(t, next(), "the first probe runs at once")
	code, r := healthz(t, h)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", r.Checks["redis"])

	srv.Stop()
	code, _ = healthz(t, h)
	require.Equal(t, http.StatusOK, code, "no tick yet: the last probe passed")
	clock.Advance(5 * time.Second)
	require.Error(t, next())
	code, r = healthz(t, h)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "degraded", r.Status)
	require.Contains(t, r.Checks["redis"], "probe failed at 2026-03-01T12:00:05Z: ")

	srv.Restart(t)
	clock.Advance(5 * time.Second)
	require.NoError(t, next())
	code, r = healthz(t, h)
	require.Equal(t, http.StatusOK, code, "%+v", r)

	cancel()
	require.ErrorIs(t, <-ran, context.Canceled)
}

func TestNewProbeNeedsAFunction(t *testing.T) {
	_, err := metrics.NewProbe(nil, metrics.ProbeConfig{})
	require.EqualError(t, err, "metrics: NewProbe needs a probe function")
}
