package dashboard

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/musicstream/analytics"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/examples/musicstream/music"
	"github.com/rulestream/rulestream/stream"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// testDB is the Redis database reserved for the analytics and dashboard tests.
const testDB = 9

// testRedis returns a client of RULESTREAM_TEST_REDIS (DB 9) and a key
// prefix unique to the test, whose keys are deleted at the end.
func testRedis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	return testredis.Client(tb, testDB)
}

// sampledSource calls onRead before each Read of the source it wraps.
type sampledSource struct {
	stream.Source
	onRead func()
}

func (s sampledSource) Read(ctx context.Context) (stream.Batch, error) {
	s.onRead()
	return s.Source.Read(ctx)
}

// scenario declares the music-stream scenario (dedup, lookups, repeats and
// order, rules) with the analytics as a branch beside repeats and order,
// each batch's plays recorded for the customer page (Recorder.Tap), over
// generated data loaded into Redis. onRead is called before each batch is
// read. Run the pipeline with run.
func scenario(t testing.TB, rdb redis.UniversalClient, prefix string, plays int, onRead func()) (*stream.Pipeline, *music.Scenario, *Recorder) {
	t.Helper()
	ctx := context.Background()
	d := gen.Generate(gen.Config{Seed: 11, Plays: plays, Customers: 2000, Tracks: 500, MeanGap: 8 * time.Second,
		Repeats: plays / 100, Duplicates: 0.01, MaxDelay: time.Minute})
	var cust, tracks bytes.Buffer
	if err := gen.WriteCustomers(&cust, d.Customers); err != nil {
		t.Fatal(err)
	}
	if err := gen.WriteMusic(&tracks, d.Tracks); err != nil {
		t.Fatal(err)
	}
	if _, err := music.LoadCustomers(ctx, rdb, &cust, enrich.LoadConfig{Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	if _, err := music.LoadTracks(ctx, rdb, &tracks, enrich.LoadConfig{Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	af, err := analytics.NewFactory(rdb, analytics.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecorder(rdb, RecorderConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := music.New(rdb, music.Config{Prefix: prefix, Analytics: rec.Tap(af.Operator)})
	if err != nil {
		t.Fatal(err)
	}
	router, err := sc.Targets()
	if err != nil {
		t.Fatal(err)
	}
	var src stream.Source = stream.NewSliceSource("plays", gen.PlayEvents("plays", d.Plays), 500)
	if onRead != nil {
		src = sampledSource{Source: src, onRead: onRead}
	}
	p := stream.New("musicstream", stream.Config{OutOfOrderness: 2 * time.Minute})
	p.From(src).ViaPartitioned(sc.Operators).To(router)
	return p, sc, rec
}

func run(t testing.TB, p *stream.Pipeline) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// served runs the scenario over plays generated plays, sampling the
// dashboard's counters before each batch is read (the clock moving 1s per
// batch), and returns the dashboard. edit, when not nil, changes its
// Config before New.
func served(t testing.TB, plays int, edit func(*Config)) *Dashboard {
	t.Helper()
	rdb, prefix := testRedis(t)
	clock := stream.NewManualClock(t0)
	var d *Dashboard
	p, sc, rec := scenario(t, rdb, prefix, plays, func() {
		clock.Advance(time.Second)
		d.Sample(clock.Now())
	})
	cfg := Config{Redis: rdb, Prefix: prefix, Pipeline: p, Firings: func() map[string]int64 { return sc.Counters().Firings },
		Clock: clock, Plays: rec}
	if edit != nil {
		edit(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)
	clock.Advance(time.Second)
	d.Sample(clock.Now())
	return d
}
