package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// serveHTTP serves /healthz (and, with the metrics package, /metrics and
// the dashboard) until the returned function is called.
func (a *app) serveHTTP(ctx context.Context, p *stream.Pipeline) (func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		status, code := "ok", http.StatusOK
		if d := a.sc.Counters().Degraded; d != "" {
			status, code = "degraded: "+d, http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "stats": p.Stats()})
	})
	ln, err := net.Listen("tcp", a.o.http)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http", "error", err)
		}
	}()
	a.log.Info("serving", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
