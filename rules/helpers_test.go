package rules

import (
	"log/slog"
	"time"

	"github.com/rulestream/rulestream/stream"
)

var t0 = time.Date(2014, 10, 1, 12, 0, 0, 0, time.UTC)

// play returns a play event of customer cust at t0+at.
func play(eventID, cust, track int64, at time.Duration) stream.Event {
	ts := t0.Add(at).UnixNano()
	return stream.Event{
		Key:    stream.Int(cust).Text(),
		Time:   ts,
		Schema: stream.PlaySchema,
		Fields: []stream.Value{stream.Int(eventID), stream.Int(cust), stream.Int(track), stream.TimeNanos(ts),
			stream.Bool(false), stream.String("95051")},
	}
}

// customer returns a customer record.
func customer(id, level, status int64, pred stream.Value) *stream.Record {
	return &stream.Record{Schema: stream.CustomerSchema, Values: []stream.Value{
		stream.Int(id), stream.String("Cust " + stream.Int(id).Text()), stream.Int(0), stream.String("1 Main St"),
		stream.String("95051"), stream.String("2013-01-01"), stream.Int(status), stream.Int(level),
		stream.Int(0), stream.Int(1), pred, stream.String("30-39"),
	}}
}

func track(id int64) *stream.Record {
	return &stream.Record{Schema: stream.TrackSchema, Values: []stream.Value{
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
	ev := play(0, cust, trk, last)
	ev.Fields[stream.PlayEventID] = stream.Null()
	ev.Window = &stream.WindowInfo{Name: name, Kind: "count_within", Key: stream.Int(cust).Text() + "|" + stream.Int(trk).Text(),
		Start: t0.Add(first).UnixNano(), End: t0.Add(last).UnixNano(), Count: count,
		First: t0.Add(first).UnixNano(), Last: t0.Add(last).UnixNano()}
	return ev
}

func slogNew(h slog.Handler) *slog.Logger { return slog.New(h) }
