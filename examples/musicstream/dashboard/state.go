package dashboard

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/analytics"
	"github.com/rulestream/rulestream/stream/metrics"
)

// State is the JSON the page polls.
type State struct {
	Pipeline  string            `json:"pipeline"`
	Time      time.Time         `json:"time"`
	Stats     PipelineStats     `json:"stats"`
	Range     RangeInfo         `json:"range"`
	Buckets   []Bucket          `json:"buckets"`
	TopZips   Ranking           `json:"topZips"`
	TopTracks Ranking           `json:"topTracks"`
	Levels    []analytics.Entry `json:"levels"`
	Genders   []analytics.Entry `json:"genders"`
	Ages      []analytics.Entry `json:"ages"`
	Ops       []OpsPoint        `json:"ops"`
	Rules     []string          `json:"rules"`
	Model     ModelState        `json:"model"`
	Sources   SourcesState      `json:"sources"`
	// Latency is each rule's decision latency (null: the pipeline keeps
	// none).
	Latency []LatencyRow          `json:"latency"`
	Health  *metrics.HealthReport `json:"health,omitempty"`
	Errors  []string              `json:"errors"`
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

// Ranking is a top list over the range's hours: the sum of each hour's
// list (stats:zip:hour:<H>, stats:track:hour:<H>), which the analytics keep
// to their top TopZips or TopTracks (20 by default); a member outside an
// hour's list is not counted for that hour, so over several hours the
// counts are lower bounds.
type Ranking struct {
	Hours   int         `json:"hours"` // hours summed
	Entries []RankEntry `json:"entries"`
}

// RankEntry is one member of a ranking.
type RankEntry struct {
	Key   string `json:"key"` // the zip code or track id
	Plays int64  `json:"plays"`
	// Track is a track's title and artist; null for a zip code, or a track
	// without a track:<id> hash.
	Track *Track `json:"track,omitempty"`
}

// State reads everything the page shows for range r. Read errors are
// reported in State.Errors; what could be read is still returned.
func (d *Dashboard) State(ctx context.Context, now time.Time, r Range) State {
	st := d.cfg.Pipeline.Stats()
	s := State{Pipeline: d.cfg.Pipeline.Name(), Time: now.UTC(), Errors: []string{}, Buckets: []Bucket{},
		Range: RangeInfo{Name: r, Label: r.Label(), Bucket: "hour"},
		Stats: PipelineStats{EventsIn: st.EventsIn, EventsOut: st.EventsOut, DeadLetters: st.DeadLetters, Late: st.Late,
			Watermark: watermarkText(st.Watermark), MaxEventTime: watermarkText(st.MaxEventTime)},
		TopZips: Ranking{Entries: []RankEntry{}}, TopTracks: Ranking{Entries: []RankEntry{}}}
	if r == RangeAll {
		s.Range.Bucket = "day"
	}
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
	names := d.rangeHours(ctx, r, &s.Range, fail)
	if len(names) > 0 {
		hours, err := d.reader.Hours(ctx, len(names))
		if err != nil {
			fail(err)
		}
		s.Buckets = buckets(hours, r == RangeAll)
		s.TopZips, s.TopTracks = d.rankings(ctx, names, fail)
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
	var from time.Time
	if r != RangeAll {
		from = now.Add(-r.span())
	}
	s.Model = d.modelState(ctx, from, fail)
	s.Sources = d.sources()
	s.Latency = d.latency()
	if d.cfg.Health != nil {
		r := d.cfg.Health.Health(now)
		s.Health = &r
	}
	return s
}

// rangeHours returns the hours of r, oldest first, filling in info.
func (d *Dashboard) rangeHours(ctx context.Context, r Range, info *RangeInfo, fail func(error)) []string {
	n := d.cfg.MaxHours + 1 // one more, to know whether some were left out
	if r != RangeAll {
		n = int(r.span() / time.Hour)
	}
	written, err := d.reader.Buckets(ctx, "hours", n)
	if err != nil {
		fail(err)
		return nil
	}
	names, omitted, err := hoursIn(r, written, d.cfg.MaxHours)
	if err != nil {
		fail(err)
		return nil
	}
	if omitted > 0 { // at least one: how many exactly
		hoursKey := analytics.KeyPrefix(d.cfg.Redis, d.cfg.Prefix) + "hours"
		total, err := d.cfg.Redis.ZCard(ctx, hoursKey).Result()
		if err != nil {
			fail(fmt.Errorf("dashboard: read %s: %w", hoursKey, err))
		}
		omitted = max(omitted, int(total)-len(names))
	}
	info.Hours, info.Omitted = len(names), omitted
	if len(names) > 0 {
		info.From, info.To = names[0], names[len(names)-1]
	}
	return names
}

// rankings sums the zip and track lists of hours (the top 5×Top of each, in
// one round trip) and gives the tracks their titles.
func (d *Dashboard) rankings(ctx context.Context, hours []string, fail func(error)) (zips, tracks Ranking) {
	depth := int64(5 * d.cfg.Top)
	stats := analytics.KeyPrefix(d.cfg.Redis, d.cfg.Prefix)
	zcmds := make([]*redis.ZSliceCmd, len(hours))
	tcmds := make([]*redis.ZSliceCmd, len(hours))
	_, err := d.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hours {
			zcmds[i] = p.ZRevRangeWithScores(ctx, stats+"zip:hour:"+h, 0, depth-1)
			tcmds[i] = p.ZRevRangeWithScores(ctx, stats+"track:hour:"+h, 0, depth-1)
		}
		return nil
	})
	if err != nil {
		fail(fmt.Errorf("dashboard: read the rankings: %w", err))
	}
	zips = Ranking{Hours: len(hours), Entries: top(zcmds, d.cfg.Top)}
	tracks = Ranking{Hours: len(hours), Entries: top(tcmds, d.cfg.Top)}
	ids := make([]string, len(tracks.Entries))
	for i, e := range tracks.Entries {
		ids[i] = e.Key
	}
	titles, err := d.tracks(ctx, ids)
	if err != nil {
		fail(err)
	}
	for i, e := range tracks.Entries {
		if t, ok := titles[e.Key]; ok {
			tracks.Entries[i].Track = &t
		}
	}
	return zips, tracks
}

// top sums the lists and returns the n highest, by plays then key.
func top(cmds []*redis.ZSliceCmd, n int) []RankEntry {
	sum := map[string]int64{}
	for _, c := range cmds {
		for _, z := range c.Val() {
			sum[fmt.Sprint(z.Member)] += int64(z.Score)
		}
	}
	return topOf(sum, n)
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
