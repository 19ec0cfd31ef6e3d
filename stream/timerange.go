package stream

import (
	"time"
)

// TimeRange bounds the event times a decoder accepts: Min to Max, unix
// nanoseconds, both included. The zero TimeRange accepts every time a
// TimeFormat reads (MinTimeNanos to MaxTimeNanos). A narrower range serves
// the operators downstream that cannot hold every time: windows, whose
// arithmetic needs |t| < 2^62 ns (window.EventTimes). A record whose event
// time lies outside is rejected by the decoder, so that it goes to the dead
// letter with its raw bytes, before any rule or operator sees it.
type TimeRange struct {
	Min, Max int64
	// What says whose range it is, for the error ("the event times
	// windows can hold").
	What string
}

// IsZero reports whether r is the zero TimeRange (every time).
func (r TimeRange) IsZero() bool { return r.Min == 0 && r.Max == 0 }

// bounds returns r's limits, the full range for the zero TimeRange.
func (r TimeRange) bounds() (lo, hi int64) {
	if r.IsZero() {
		return MinTimeNanos, MaxTimeNanos
	}
	return r.Min, r.Max
}

// Contains reports whether ns lies in r.
func (r TimeRange) Contains(ns int64) bool {
	lo, hi := r.bounds()
	return ns >= lo && ns <= hi
}

// String writes the range as "<min> to <max>" in RFC 3339, to the second
// (rounded inward).
func (r TimeRange) String() string {
	lo, hi := r.bounds()
	first := time.Unix(0, lo).UTC()
	if t := first.Truncate(time.Second); !t.Equal(first) {
		first = t.Add(time.Second)
	}
	last := time.Unix(0, hi).UTC().Truncate(time.Second)
	return first.Format(time.RFC3339) + " to " + last.Format(time.RFC3339)
}

// EventTimeError is the error of an event time outside a RecordSpec's
// EventTimes. It matches ErrTimeOutOfRange (errors.Is).
type EventTimeError struct {
	Time  int64 // unix nanoseconds
	Range TimeRange
}

func (e *EventTimeError) Error() string {
	what := e.Range.What
	if what == "" {
		what = "the accepted event times"
	}
	return "event time " + time.Unix(0, e.Time).UTC().Format(time.RFC3339Nano) + " is outside " + what + " (" + e.Range.String() + ")"
}

// Is reports whether target is ErrTimeOutOfRange.
func (e *EventTimeError) Is(target error) bool { return target == ErrTimeOutOfRange }
