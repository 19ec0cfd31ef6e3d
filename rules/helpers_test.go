package rules

import (
	"log/slog"
	"sync"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// Positions of the play fields in gen.PlaySchema.
const (
	playEventID = iota
	playCustomerID
	playTrackID
	playDateTime
	playIsMobile
	playZip
)

// demoJoins are the music-stream example's records: customer and track.
func demoJoins() []Join {
	return []Join{{"customer", gen.CustomerSchema}, {"track", gen.TrackSchema}}
}

// demoWindows are the windows the tests' rules read: the example's
// count-within "repeats", and "w" with a count aggregate named plays.
func demoWindows() []WindowDecl {
	return []WindowDecl{
		{Name: "repeats", Kind: "count_within"},
		{Name: "w", Kind: "tumbling", Aggregates: []stream.Field{{Name: "plays", Kind: stream.KindInt}}},
	}
}

var testEnvOnce = sync.OnceValues(func() (*Env, error) {
	return NewEnv(EnvConfig{EventSchema: gen.PlaySchema, Joins: demoJoins(), Windows: demoWindows()})
})

// testEnv is the music-stream example's environment: plays, customer and
// track, the windows of demoWindows.
func testEnv() *Env {
	env, err := testEnvOnce()
	if err != nil {
		panic(err)
	}
	return env
}

// loadDemo loads the example's rules (testdata/demo.yaml).
func loadDemo() (*RuleSet, error) { return testEnv().LoadFile("testdata/demo.yaml") }

var t0 = time.Date(2014, 10, 1, 12, 0, 0, 0, time.UTC)

// play returns a play event of customer cust at t0+at.
func play(eventID, cust, track int64, at time.Duration) stream.Event {
	ts := t0.Add(at).UnixNano()
	return stream.Event{
		Key:    stream.Int(cust).Text(),
		Time:   ts,
		Schema: gen.PlaySchema,
		Fields: []stream.Value{stream.Int(eventID), stream.Int(cust), stream.Int(track), stream.TimeNanos(ts),
			stream.Bool(false), stream.String("95051")},
	}
}

// customer returns a customer record.
func customer(id, level, status int64, pred stream.Value) *stream.Record {
	return &stream.Record{Schema: gen.CustomerSchema, Values: []stream.Value{
		stream.Int(id), stream.String("Cust " + stream.Int(id).Text()), stream.Int(0), stream.String("1 Main St"),
		stream.String("95051"), stream.String("2013-01-01"), stream.Int(status), stream.Int(level),
		stream.Int(0), stream.Int(1), pred, stream.String("30-39"),
	}}
}

func track(id int64) *stream.Record {
	return &stream.Record{Schema: gen.TrackSchema, Values: []stream.Value{
		stream.Int(id), stream.String("Song"), stream.String("Artist"), stream.Int(180)}}
}

// enriched returns a play joined with its customer and track.
func enriched(eventID, cust, trk int64, at time.Duration, c *stream.Record) stream.Event {
	ev := play(eventID, cust, trk, at)
	ev.SetJoin("customer", c)
	ev.SetJoin("track", track(trk))
	return ev
}

// windowResult returns a count-within result named name over (cust, trk).
func windowResult(name string, cust, trk, count int64, first, last time.Duration) stream.Event {
	ev := play(100+count, cust, trk, last)
	ev.Window = &stream.WindowInfo{Name: name, Kind: "count_within", Key: stream.Int(cust).Text() + "|" + stream.Int(trk).Text(),
		Start: t0.Add(first).UnixNano(), End: t0.Add(last).UnixNano(), Count: count,
		First: t0.Add(first).UnixNano(), Last: t0.Add(last).UnixNano()}
	return ev
}

func slogNew(h slog.Handler) *slog.Logger { return slog.New(h) }
