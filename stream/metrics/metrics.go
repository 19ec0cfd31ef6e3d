package metrics

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rulestream/rulestream/stream"
)

// StatsSource is what New reads at each scrape; *stream.Pipeline is one.
type StatsSource interface {
	Name() string
	Stats() stream.Stats
}

// Config names the counters New exports besides the pipeline's. Every getter
// is optional and called at each scrape, from the scraping goroutine: it must
// be safe to call concurrently with the pipeline.
type Config struct {
	// Namespace prefixes every metric name. Default "rulestream".
	Namespace string
	// Firings returns the emissions per rule (counters since start).
	Firings func() map[string]int64
	// RuleErrors returns the runtime errors per rule.
	RuleErrors func() map[string]int64
	// RedisErrors returns Redis errors per component (e.g. the targets'
	// Stats.Failures); RedisHealth's degradations are added.
	RedisErrors func() map[string]int64
	// RedisUp returns, per component, whether it reaches Redis now (e.g.
	// from enrich.Lookup.Health or a scenario's degraded flag). Polled at
	// each scrape and fed to RedisHealth, so a change to down between two
	// scrapes counts as one error; use RedisHealth from an OnHealth hook to
	// see every change.
	RedisUp func() map[string]bool
	// Counters returns further counters by name (e.g. duplicates, matches),
	// exported as scenario_total{name}.
	Counters func() map[string]int64
	// Sources returns each source's status (SourceMonitor.Status), exported
	// as source_events_total, source_rate, source_expected_rate,
	// source_silent and source_never_started, each by source.
	Sources func() []SourceStatus
	// Alerts returns the alerts raised by kind (SourceMonitor.Alerts),
	// exported as alerts_total{kind}.
	Alerts func() map[string]int64
	// AlertQueues returns the alert delivery queues' counts by sink (an
	// alert.Outbox's Stats), exported as alert_queue_sent_total,
	// alert_queue_failed_total, alert_queue_dropped_total and
	// alert_queue_pending, each by sink.
	AlertQueues func() map[string]QueueStats
	// Buckets are the sink latency histogram's buckets in seconds. Default
	// from 100µs to 10s.
	Buckets []float64
	// Clock gives the processing time for the lag and age gauges. Default:
	// the system clock.
	Clock stream.Clock
}

func (c *Config) setDefaults() {
	if c.Namespace == "" {
		c.Namespace = "rulestream"
	}
	if len(c.Buckets) == 0 {
		c.Buckets = prometheus.ExponentialBucketsRange(0.0001, 10, 16)
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
}

// Metrics is a pipeline's set of metrics, registered by New.
type Metrics struct {
	cfg      Config
	pipeline string
	coll     *collector
	sinkDur  *prometheus.HistogramVec
	sinkErr  *prometheus.CounterVec
	sinkEvts *prometheus.CounterVec
	opIn     *prometheus.CounterVec
	opOut    *prometheus.CounterVec
	opDur    *prometheus.HistogramVec

	mu     sync.Mutex
	redis  map[string]bool  // component -> degraded
	redisN map[string]int64 // component -> degradations seen
}

// New registers the metrics of p with reg.
func New(reg prometheus.Registerer, p StatsSource, cfg Config) (*Metrics, error) {
	if reg == nil || p == nil {
		return nil, errors.New("metrics: New needs a registerer and a pipeline")
	}
	cfg.setDefaults()
	m := &Metrics{cfg: cfg, pipeline: p.Name(), redis: map[string]bool{}, redisN: map[string]int64{}}
	labels := prometheus.Labels{"pipeline": m.pipeline}
	m.coll = newCollector(m, p)
	m.sinkDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: cfg.Namespace, Name: "sink_seconds",
		Help: "Latency of sink Write and Flush calls.", Buckets: cfg.Buckets, ConstLabels: labels}, []string{"sink", "op"})
	m.sinkErr = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: cfg.Namespace, Name: "sink_errors_total",
		Help: "Failed sink Write and Flush calls.", ConstLabels: labels}, []string{"sink", "op"})
	m.sinkEvts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: cfg.Namespace, Name: "sink_events_total",
		Help: "Events handed to the sink's Write.", ConstLabels: labels}, []string{"sink"})
	m.opIn = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: cfg.Namespace, Name: "operator_events_in_total",
		Help: "Events handed to the operator.", ConstLabels: labels}, []string{"operator"})
	m.opOut = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: cfg.Namespace, Name: "operator_events_out_total",
		Help: "Events the operator emitted.", ConstLabels: labels}, []string{"operator"})
	m.opDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: cfg.Namespace, Name: "operator_seconds",
		Help: "Time of the operator's Process and Advance calls.", Buckets: cfg.Buckets, ConstLabels: labels}, []string{"operator", "call"})
	for _, c := range []prometheus.Collector{m.coll, m.sinkDur, m.sinkErr, m.sinkEvts, m.opIn, m.opOut, m.opDur} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// RedisHealth records the health of a component's link to Redis: feed it
// from enrich.LookupConfig.OnHealth, e.g.
//
//	cfg.OnHealth = func(h enrich.Health) { m.RedisHealth("accounts", h.Degraded) }
//
// Each change to degraded counts as a Redis error of the component; the
// redis_up gauge follows the state.
func (m *Metrics) RedisHealth(component string, degraded bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if degraded && !m.redis[component] {
		m.redisN[component]++
	}
	m.redis[component] = degraded
}

func (m *Metrics) redisState() (up map[string]bool, errs map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	up, errs = map[string]bool{}, map[string]int64{}
	for c, d := range m.redis {
		up[c] = !d
	}
	for c, n := range m.redisN {
		errs[c] = n
	}
	return up, errs
}
