package dashboard

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/stream/metrics"
)

// seedModel appends ten days of training attempts to d's model history,
// every 4 hours up to t0 (a few refused, two failed, the threshold raised
// from 0.20 to 0.25 after five days), and publishes the last published one
// as the live model.
func seedModel(t testing.TB, d *Dashboard) {
	t.Helper()
	ctx := context.Background()
	var version int64
	var live model.Attempt
	for i := 60; i >= 0; i-- {
		at := t0.Add(-time.Duration(i) * 4 * time.Hour)
		a := model.Attempt{At: at, Rows: 20000 + 50*(60-i), Threshold: 0.20, Duration: 3 * time.Second}
		if i < 30 {
			a.Threshold = 0.25
		}
		e := 0.19 + 0.06*math.Sin(float64(i)/3) + 0.002*float64(i%5)
		switch {
		case i == 41 || i == 12:
			a.Outcome, a.Reason, a.Rows = model.OutcomeFailed, "read clicks.csv: no such file or directory", 0
		case e >= a.Threshold:
			a.Error, a.Outcome, a.Reason = &e, model.OutcomeRefused, "held-out error is not under the threshold"
		default:
			version++
			a.Error, a.Outcome, a.Published, a.Version, a.Reason = &e, model.OutcomePublished, true, version, "under the threshold"
			live = a
		}
		if _, err := model.AppendHistory(ctx, d.cfg.Redis, d.cfg.Prefix, a); err != nil {
			t.Fatal(err)
		}
	}
	d.cfg.Redis.HSet(ctx, d.cfg.Prefix+model.Key, map[string]any{"version": live.Version,
		"features": "morning,afternoon,evening,night,mobile,unique", "weights": "0.4,0.1,-0.2,0.3,0.8,0.05", "intercept": "-1.2",
		"test_error": *live.Error, "threshold": live.Threshold, "train_rows": live.Rows * 4 / 5, "test_rows": live.Rows / 5,
		"trained_at": live.At.Format(time.RFC3339)})
}

// someSources are five sources as a monitor reports them: three files
// flowing, one silent for six minutes, one that never started.
func someSources() []metrics.SourceStatus {
	return []metrics.SourceStatus{
		{Source: "/var/log/plays/host-a.csv", State: metrics.SourceOK, Rate: 41.2, Expected: 39.8, Basis: "history", Since: t0.Add(-26 * time.Hour), Events: 3812455, LastEvent: t0},
		{Source: "/var/log/plays/host-b.csv", State: metrics.SourceOK, Rate: 38.7, Expected: 40.1, Basis: "history", Since: t0.Add(-26 * time.Hour), Events: 3650120, LastEvent: t0},
		{Source: "/var/log/plays/host-c.csv", State: metrics.SourceSilent, Rate: 0, Expected: 40.5, Basis: "history", Since: t0.Add(-6 * time.Minute), Events: 3402231, LastEvent: t0.Add(-6 * time.Minute)},
		{Source: "/var/log/plays/host-d.csv", State: metrics.SourceOK, Rate: 12.4, Expected: 11.9, Basis: "recent", Since: t0.Add(-50 * time.Minute), Events: 37410, LastEvent: t0},
		{Source: "/var/log/plays/host-e.csv", State: metrics.SourceNeverStarted, Since: t0.Add(-12 * time.Minute)},
	}
}

// saveShot writes a screenshot into the test's artifact directory and,
// when $DASHBOARD_SCREENSHOT names the dashboard's screenshot (e.g.
// docs/dashboard.png, absolute or relative to this package), beside it.
func saveShot(t *testing.T, name string, png []byte) {
	t.Helper()
	if len(png) < 10000 || string(png[:4]) != "\x89PNG" {
		t.Fatalf("screenshot %s: %d bytes, not a PNG", name, len(png))
	}
	paths := []string{filepath.Join(t.ArtifactDir(), name)}
	if out := os.Getenv("DASHBOARD_SCREENSHOT"); out != "" {
		paths = append(paths, filepath.Join(filepath.Dir(out), name))
	}
	for _, p := range paths {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", p, len(png))
	}
}
