package metrics

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Check is one health check: nil when healthy, else what is wrong.
type Check func(now time.Time) error

// HealthConfig configures HealthHandler.
type HealthConfig struct {
	// Checks by name, e.g. "silence": silence.Check, "redis": ...
	Checks map[string]Check
	// Info, if set, adds its result under "info" (e.g. the pipeline's Stats).
	Info func() any
	// Clock gives the time passed to the checks. Default: the system clock.
	Clock stream.Clock
}

// HealthReport is the JSON body HealthHandler writes.
type HealthReport struct {
	Status string            `json:"status"` // "ok" or "degraded"
	Checks map[string]string `json:"checks"` // name -> "ok" or the problem
	Time   time.Time         `json:"time"`
	Info   any               `json:"info,omitempty"`
}

// Health runs the checks at now.
func (c HealthConfig) Health(now time.Time) HealthReport {
	r := HealthReport{Status: "ok", Checks: map[string]string{}, Time: now.UTC()}
	for _, n := range sortedKeys(c.Checks) {
		if err := c.Checks[n](now); err != nil {
			r.Status, r.Checks[n] = "degraded", err.Error()
		} else {
			r.Checks[n] = "ok"
		}
	}
	if c.Info != nil {
		r.Info = c.Info()
	}
	return r
}

// HealthHandler serves the checks as JSON (HealthReport): 200 when every
// check passes, 503 when one fails.
func HealthHandler(cfg HealthConfig) http.Handler {
	if cfg.Clock == nil {
		cfg.Clock = stream.SystemClock{}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r := cfg.Health(cfg.Clock.Now())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.Status != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(r)
	})
}
