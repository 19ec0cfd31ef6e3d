package dashboard

import (
	"context"
	"sort"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/analytics"
	"github.com/rulestream/rulestream/stream/metrics"
)

// State is the JSON the page polls.
type State struct {
	Pipeline  string                `json:"pipeline"`
	Time      time.Time             `json:"time"`
	Stats     PipelineStats         `json:"stats"`
	Hours     []Hour                `json:"hours"`
	TopZips   Ranking               `json:"topZips"`
	TopTracks Ranking               `json:"topTracks"`
	Levels    []analytics.Entry     `json:"levels"`
	Genders   []analytics.Entry     `json:"genders"`
	Ages      []analytics.Entry     `json:"ages"`
	Ops       []OpsPoint            `json:"ops"`
	Rules     []string              `json:"rules"`
	Health    *metrics.HealthReport `json:"health,omitempty"`
	Errors    []string              `json:"errors"`
}

// PipelineStats are the pipeline's counters as shown.
type PipelineStats struct {
	EventsIn     int64   `json:"eventsIn"`
	EventsOut    int64   `json:"eventsOut"`
	DeadLetters  int64   `json:"deadLetters"`
	Late         int64   `json:"late"`
	Watermark    string  `json:"watermark"`    // RFC 3339, "" before the first or after the last
	MaxEventTime string  `json:"maxEventTime"` // RFC 3339
	LagSeconds   float64 `json:"lagSeconds"`   // newest event time minus the watermark
	Firings      int64   `json:"firings"`      // all rules
}

// Hour is one hour of plays.
type Hour struct {
	analytics.HourStats
	MobileShare float64 `json:"mobileShare"`
}

// Ranking is a top list of one bucket.
type Ranking struct {
	Bucket  string            `json:"bucket"`
	Entries []analytics.Entry `json:"entries"`
}

// State reads everything the page shows. Read errors are reported in
// State.Errors; what could be read is still returned.
func (d *Dashboard) State(ctx context.Context, now time.Time) State {
	st := d.cfg.Pipeline.Stats()
	s := State{Pipeline: d.cfg.Pipeline.Name(), Time: now.UTC(), Errors: []string{}, Hours: []Hour{},
		Stats: PipelineStats{EventsIn: st.EventsIn, EventsOut: st.EventsOut, DeadLetters: st.DeadLetters, Late: st.Late,
			Watermark: watermarkText(st.Watermark), MaxEventTime: watermarkText(st.MaxEventTime)}}
	if l := lag(sample{wm: st.Watermark, max: st.MaxEventTime}); l != nil {
		s.Stats.LagSeconds = *l
	}
	if d.cfg.Firings != nil {
		for _, n := range d.cfg.Firings() {
			s.Stats.Firings += n
		}
	}
	fail := func(err error) {
		s.Errors = append(s.Errors, err.Error())
		d.cfg.Logger.Warn("dashboard: read failed", "error", err)
	}
	hours, err := d.reader.Hours(ctx, d.cfg.Hours)
	if err != nil {
		fail(err)
	}
	names := make([]string, len(hours))
	for i, h := range hours {
		s.Hours = append(s.Hours, Hour{HourStats: h, MobileShare: h.MobileShare()})
		names[i] = h.Hour
	}
	if len(hours) > 0 {
		last := hours[len(hours)-1].Hour
		s.TopTracks = d.ranking(ctx, "track:hour:", last, fail)
		s.TopZips = d.ranking(ctx, "zip:day:", last[:8], fail)
	}
	for _, b := range []struct {
		dim string
		out *[]analytics.Entry
	}{{"level", &s.Levels}, {"gender", &s.Genders}, {"age", &s.Ages}} {
		m, err := d.reader.Breakdown(ctx, b.dim, names)
		if err != nil {
			fail(err)
		}
		*b.out = entries(m)
	}
	s.Ops, s.Rules = d.smp.series()
	if d.cfg.Health != nil {
		r := d.cfg.Health.Health(now)
		s.Health = &r
	}
	return s
}

func (d *Dashboard) ranking(ctx context.Context, kind, bucket string, fail func(error)) Ranking {
	es, err := d.reader.Top(ctx, kind+bucket, d.cfg.Top)
	if err != nil {
		fail(err)
	}
	if es == nil {
		es = []analytics.Entry{}
	}
	return Ranking{Bucket: bucket, Entries: es}
}

// entries sorts a breakdown by key.
func entries(m map[string]int64) []analytics.Entry {
	out := make([]analytics.Entry, 0, len(m))
	for k, v := range m {
		out = append(out, analytics.Entry{Key: k, Plays: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
