package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rulestream/rulestream/examples/musicstream/dashboard"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/kafka"
	"github.com/rulestream/rulestream/stream/metrics"
	"github.com/rulestream/rulestream/targets"
)

// serveHTTP serves the dashboard at /, /metrics and /healthz until the
// returned function is called; its goroutines end with ctx or that call,
// and are in a.bg.
func (a *app) serveHTTP(ctx context.Context, p *stream.Pipeline, router *targets.Router) (func(), error) {
	firings := func() map[string]int64 { return a.sc.Counters().Firings }
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.kafka != nil {
		reg.MustRegister(kafkaCollector{a.kafka})
	}
	mcfg := metrics.Config{
		Firings:    firings,
		RuleErrors: func() map[string]int64 { return a.sc.Counters().RuleErrors },
		RedisUp:    func() map[string]bool { return map[string]bool{"lookups": a.sc.Counters().Degraded == ""} },
		RedisErrors: func() map[string]int64 {
			var failures int64
			for _, s := range router.Sinks() {
				if st, ok := s.(interface{ Stats() targets.Stats }); ok {
					failures += st.Stats().Failures
				}
			}
			return map[string]int64{"targets": failures}
		},
		Counters: func() map[string]int64 {
			c := a.sc.Counters()
			return map[string]int64{"duplicates": c.Duplicates, "matches": c.Matches, "evictions": c.Evictions,
				"matches_early": c.Early, "matches_confirmed": c.Confirmed, "matches_corrections": c.Corrections}
		},
	}
	a.watch.Metrics(&mcfg)
	if _, err := metrics.New(reg, p, mcfg); err != nil {
		return nil, err
	}
	// Each source is judged on its own (-silence); without, the whole
	// input's rate is.
	silenceCheck := a.watch.Check
	if a.watch == nil {
		silence, err := metrics.NewSilence(metrics.PipelineInput(p), metrics.SilenceConfig{})
		if err != nil {
			return nil, err
		}
		silenceCheck = silence.Check
		a.bg.Go(func() { _ = silence.Run(ctx) })
	}
	// Redis is PINGed every second: it is reported down within about a
	// second of dying, not only when a lookup next fails.
	pc := a.o.probe
	if pc.Every == 0 {
		pc.Every = time.Second
	}
	ping, err := metrics.NewProbe(func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() }, pc)
	if err != nil {
		return nil, err
	}
	health := &metrics.HealthConfig{
		Checks: map[string]metrics.Check{
			"silence": silenceCheck,
			"redis": func(now time.Time) error {
				if d := a.sc.Counters().Degraded; d != "" {
					return errors.New(d)
				}
				return ping.Check(now)
			},
		},
		Info: func() any { return p.Stats() },
	}
	dcfg := dashboard.Config{Redis: a.rdb, Prefix: a.o.prefix, Pipeline: p, Firings: firings, Health: health, Logger: a.log, Plays: a.plays}
	if a.watch != nil {
		dcfg.Sources = a.watch.Sources
	}
	dash, err := dashboard.New(dcfg)
	if err != nil {
		return nil, err
	}
	a.bg.Go(func() { _ = dash.Run(ctx) })

	mux := http.NewServeMux()
	mux.Handle("/healthz", metrics.HealthHandler(*health))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", dash)
	ln, err := net.Listen("tcp", a.o.http)
	if err != nil {
		return nil, err
	}
	a.bg.Go(func() { _ = ping.Run(ctx) }) // its first probe once /healthz is served
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	a.bg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http", "error", err)
		}
	})
	a.log.Info("serving", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.o.shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// kafkaCollector exports the consumer's per-partition lag and its
// rebalance count.
type kafkaCollector struct{ src *kafka.Source }

var (
	kafkaLagDesc = prometheus.NewDesc("rulestream_kafka_lag", "Messages behind the high-water mark, per partition.",
		[]string{"topic", "partition"}, nil)
	kafkaRebalanceDesc = prometheus.NewDesc("rulestream_kafka_rebalances_total", "Consumer-group rebalances seen.", nil, nil)
)

func (c kafkaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- kafkaLagDesc
	ch <- kafkaRebalanceDesc
}

func (c kafkaCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	for _, ps := range st.Partitions {
		ch <- prometheus.MustNewConstMetric(kafkaLagDesc, prometheus.GaugeValue, float64(ps.Lag), c.src.Name(), strconv.Itoa(int(ps.Partition)))
	}
	ch <- prometheus.MustNewConstMetric(kafkaRebalanceDesc, prometheus.CounterValue, float64(st.Rebalances))
}
