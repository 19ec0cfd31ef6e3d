package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/analytics"
	"github.com/rulestream/rulestream/stream"
)

//go:embed assets
var assets embed.FS

// Dashboard serves the page, its assets and the JSON it polls.
type Dashboard struct {
	cfg    Config
	reader *analytics.Reader
	smp    *sampler
	mux    *http.ServeMux
}

// New returns a dashboard over cfg's Redis and pipeline.
func New(cfg Config) (*Dashboard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	d := &Dashboard{cfg: cfg, reader: analytics.NewReader(cfg.Redis, cfg.Prefix),
		smp: &sampler{every: cfg.SampleEvery, history: cfg.History}, mux: http.NewServeMux()}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	files := http.FileServerFS(static)
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			http.ServeFileFS(w, r, static, name)
		}
	}
	d.mux.HandleFunc("GET /api/dashboard", d.serveState)
	d.mux.HandleFunc("GET /{$}", page("index.html"))
	d.mux.HandleFunc("GET /customer/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := d.customer(w, r, true); ok {
			page("customer.html")(w, r)
		}
	})
	d.mux.HandleFunc("GET /api/customer/{id}", d.serveCustomer)
	d.mux.HandleFunc("GET /api/customer/{id}/{section}", d.serveSection)
	for _, f := range []string{"/app.js", "/app.css", "/charts.js", "/panels.js", "/customer.js"} {
		d.mux.Handle("GET "+f, files)
	}
	return d, nil
}

// ServeHTTP implements http.Handler.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

// Sample records the pipeline's counters at processing time now.
func (d *Dashboard) Sample(now time.Time) {
	st := d.cfg.Pipeline.Stats()
	x := sample{at: now, in: st.EventsIn, wm: st.Watermark, max: st.MaxEventTime, firings: map[string]int64{}}
	if d.cfg.Firings != nil {
		for k, v := range d.cfg.Firings() {
			x.firings[k] = v
		}
	}
	d.smp.add(x)
}

// Run samples every SampleEvery until ctx ends; it returns ctx.Err().
func (d *Dashboard) Run(ctx context.Context) error {
	tick, stop := d.cfg.Clock.NewTicker(d.cfg.SampleEvery)
	defer stop()
	d.Sample(d.cfg.Clock.Now())
	for {
		select {
		case now := <-tick:
			d.Sample(now)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (d *Dashboard) serveState(w http.ResponseWriter, r *http.Request) {
	now := d.cfg.Clock.Now()
	if d.smp.due(now) {
		d.Sample(now)
	}
	rng := d.cfg.Range
	if q := r.URL.Query().Get("range"); q != "" {
		var err error
		if rng, err = ParseRange(q); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, d.State(r.Context(), now, rng))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// watermarkText formats a watermark for people: "" at either end of time.
func watermarkText(ns int64) string {
	if ns == stream.MinWatermark || ns == stream.MaxWatermark || ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}
