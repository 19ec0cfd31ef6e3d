package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rulestream/rulestream/stream"
)

// collector turns the pipeline's Stats and the configured getters into
// metrics at each scrape.
type collector struct {
	m *Metrics
	p StatsSource

	in, out, dead, late, batches, cps           *prometheus.Desc
	wm, wmLag, wmDelay, cpAge                   *prometheus.Desc
	firings, ruleErrs, redisErrs, redisUp, ctrs *prometheus.Desc
	src                                         sourceDescs
	latency                                     *prometheus.Desc
}

func newCollector(m *Metrics, p StatsSource) *collector {
	ns, labels := m.cfg.Namespace, prometheus.Labels{"pipeline": m.pipeline}
	d := func(name, help string, vars ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, vars, labels)
	}
	return &collector{m: m, p: p,
		in:        d("events_in_total", "Events read from the sources."),
		out:       d("events_out_total", "Events written to the sinks."),
		dead:      d("dead_letters_total", "Malformed records and operator rejects sent to the dead letter."),
		late:      d("late_events_total", "Events later than the allowed lateness."),
		batches:   d("batches_total", "Batches read from the sources."),
		cps:       d("checkpoints_total", "Checkpoints saved."),
		wm:        d("watermark_timestamp_seconds", "The pipeline watermark (event time, unix seconds)."),
		wmLag:     d("watermark_lag_seconds", "Newest event time seen minus the watermark."),
		wmDelay:   d("watermark_delay_seconds", "Processing time minus the watermark."),
		cpAge:     d("checkpoint_age_seconds", "Processing time since the last checkpoint."),
		firings:   d("rule_firings_total", "Emissions per rule.", "rule"),
		ruleErrs:  d("rule_errors_total", "Runtime errors per rule.", "rule"),
		redisErrs: d("redis_errors_total", "Redis errors per component.", "component"),
		redisUp:   d("redis_up", "1 while the component reaches Redis, 0 while degraded.", "component"),
		ctrs:      d("scenario_total", "Scenario counters by name.", "name"),
		src:       newSourceDescs(d),
		latency:   newLatencyDesc(d),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.in, c.out, c.dead, c.late, c.batches, c.cps, c.wm, c.wmLag, c.wmDelay, c.cpAge,
		c.firings, c.ruleErrs, c.redisErrs, c.redisUp, c.ctrs} {
		ch <- d
	}
	c.src.describe(ch)
	ch <- c.latency
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	now := c.m.cfg.Clock.Now()
	counter := func(d *prometheus.Desc, v int64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	counter(c.in, st.EventsIn)
	counter(c.out, st.EventsOut)
	counter(c.dead, st.DeadLetters)
	counter(c.late, st.Late)
	counter(c.batches, st.Batches)
	counter(c.cps, st.Checkpoints)
	if st.Watermark != stream.MinWatermark && st.Watermark != stream.MaxWatermark && st.Watermark != 0 {
		gauge(c.wm, float64(st.Watermark)/1e9)
		gauge(c.wmLag, float64(max(st.MaxEventTime-st.Watermark, 0))/1e9)
		gauge(c.wmDelay, float64(now.UnixNano()-st.Watermark)/1e9)
	}
	if !st.LastCheckpoint.IsZero() {
		gauge(c.cpAge, now.Sub(st.LastCheckpoint).Seconds())
	}
	eachSorted(call(c.m.cfg.Firings), func(k string, v int64) { counter(c.firings, v, k) })
	eachSorted(call(c.m.cfg.RuleErrors), func(k string, v int64) { counter(c.ruleErrs, v, k) })
	eachSorted(call(c.m.cfg.Counters), func(k string, v int64) { counter(c.ctrs, v, k) })
	if c.m.cfg.RedisUp != nil {
		for comp, ok := range c.m.cfg.RedisUp() {
			c.m.RedisHealth(comp, !ok)
		}
	}
	up, degradations := c.m.redisState()
	errs := call(c.m.cfg.RedisErrors)
	for k, v := range degradations {
		errs[k] += v
	}
	eachSorted(errs, func(k string, v int64) { counter(c.redisErrs, v, k) })
	for _, k := range sortedKeys(up) {
		v := 0.0
		if up[k] {
			v = 1
		}
		gauge(c.redisUp, v, k)
	}
	c.src.collect(c.m.cfg, counter, gauge)
	collectLatency(c.latency, c.p, ch)
}

func call(f func() map[string]int64) map[string]int64 {
	out := map[string]int64{}
	if f != nil {
		for k, v := range f() {
			out[k] = v
		}
	}
	return out
}

func eachSorted(m map[string]int64, fn func(string, int64)) {
	for _, k := range sortedKeys(m) {
		fn(k, m[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
