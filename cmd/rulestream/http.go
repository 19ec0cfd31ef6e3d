package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
	"github.com/rulestream/rulestream/targets"
)

// serveHTTP serves /metrics and /healthz until the returned function is
// called; its goroutines end with ctx or that call, and are in a.bg.
func (a *app) serveHTTP(ctx context.Context, p *stream.Pipeline) (func(), error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mcfg := metrics.Config{
		Firings:    func() map[string]int64 { return a.built.Counters().Firings },
		RuleErrors: func() map[string]int64 { return a.built.Counters().RuleErrors },
		RedisUp:    func() map[string]bool { return map[string]bool{"lookups": a.built.Counters().Degraded == ""} },
		RedisErrors: func() map[string]int64 {
			var failures int64
			for _, s := range a.built.Sinks() {
				if st, ok := s.(interface{ Stats() targets.Stats }); ok {
					failures += st.Stats().Failures
				}
			}
			return map[string]int64{"targets": failures}
		},
		Counters: func() map[string]int64 {
			c := a.built.Counters()
			m := map[string]int64{"duplicates": c.Duplicates}
			for name, w := range c.Windows {
				m["window_"+name+"_results"] = w.Results
				m["window_"+name+"_evictions"] = w.Evictions
				m["window_"+name+"_early"] = w.Early
				m["window_"+name+"_confirmed"] = w.Confirmed
				m["window_"+name+"_corrections"] = w.Corrections
			}
			return m
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
	health := metrics.HealthConfig{
		Checks: map[string]metrics.Check{
			"silence": silenceCheck,
			"redis": func(now time.Time) error {
				if d := a.built.Counters().Degraded; d != "" {
					return errors.New(d)
				}
				return ping.Check(now)
			},
		},
		Info: func() any { return p.Stats() },
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", metrics.HealthHandler(health))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
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
