package window

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Defaults of the bounds on state.
const (
	DefaultMaxKeys    = 1 << 22 // keys (count-within) or live windows (time, session)
	DefaultMaxPending = 1 << 22 // events buffered until the watermark passes
	DefaultMaxIDs     = 1 << 22 // ids remembered for dedup
)

// Stats are an operator's counters.
type Stats struct {
	Late       int64 // events later than the allowed lateness, sent to the late output
	Duplicates int64 // duplicate deliveries dropped (same dedup value)
	Evictions  int64 // state dropped by a hard bound (MaxKeys, MaxPending, MaxIDs)
	Expired    int64 // keys (or windows) whose state expired: it could no longer change
	ActiveKeys int64 // keys holding state now
	Pending    int64 // events buffered until the watermark passes them
	Emitted    int64 // results emitted, updates included
	Rejected   int64 // events with a time out of range, sent to the dead letter
	Errors     int64 // a pattern's predicates that failed on an event (counted as no match)

	// With Early set (count-within, sequence, new_value, distinct_count;
	// see the package doc, "Early results"):
	Early       int64 // results emitted on arrival of their events (included in Emitted)
	Confirmed   int64 // event-time results not emitted: an early result had their completing event
	Corrections int64 // event-time results emitted at the watermark: no early result had their completing event (included in Emitted)
}

// MaxEventTime bounds event times: windows need |time| < MaxEventTime
// (2^62 ns, the years 1823 to 2116) so that window arithmetic cannot
// overflow. Other events go to the dead letter.
const MaxEventTime = 1 << 62

// EventTimes is the range of event times windows hold, for a decoder's
// stream.RecordSpec.EventTimes: a record outside it is then rejected by the
// decoder with its raw bytes, instead of by the window with its fields'
// text (and after rules without a window may have fired on it).
var EventTimes = stream.TimeRange{Min: -MaxEventTime + 1, Max: MaxEventTime - 1, What: "the event times windows can hold"}

// inRange reports whether ev's time is usable; if not, it dead-letters ev
// (its fields as raw text) and counts it in Stats.Rejected.
func inRange(ev *stream.Event, out *stream.Emitter, st *Stats, kind, name string) bool {
	if ev.Time < MaxEventTime && ev.Time > -MaxEventTime {
		return true
	}
	st.Rejected++
	err := &stream.EventTimeError{Time: ev.Time, Range: EventTimes}
	out.DeadLetter(stream.EventReject(ev, kind+" "+name+": "+err.Error()))
	return false
}

// published holds the counters as of the end of the last call, so that
// Stats may be read from another goroutine (a metrics exporter) while the
// runner drives the operator.
type published struct {
	mu sync.Mutex
	s  Stats
}

func (p *published) set(s Stats) {
	p.mu.Lock()
	p.s = s
	p.mu.Unlock()
}

func (p *published) get() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.s
}

// clock tracks the watermark an operator was advanced to and its lateness.
type clock struct {
	wm       int64
	lateness int64
	floor    int64 // raised by forced early releases
}

func newClock() clock { return clock{wm: stream.MinWatermark, floor: stream.MinWatermark} }

// cutoff is the lowest event time still accepted: watermark minus the
// allowed lateness (and never below a forced release).
func (c *clock) cutoff() int64 {
	if c.wm == stream.MaxWatermark {
		return stream.MaxWatermark
	}
	return max(sub(c.wm, c.lateness), c.floor)
}

// sub is a-b clamped at MinWatermark.
func sub(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// add is a+b clamped at MaxWatermark.
func add(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// startLateness takes the pipeline's allowed lateness when the operator's
// own setting is zero.
func startLateness(own time.Duration, env stream.Env) time.Duration {
	if own == 0 {
		return env.Config.AllowedLateness
	}
	return own
}

func checkCommon(name string, lateness time.Duration) []error {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("Name is required"))
	}
	if lateness < 0 {
		errs = append(errs, errors.New("AllowedLateness must not be negative"))
	}
	return errs
}

func configErr(op string, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("window: %s: %w", op, errors.Join(errs...))
}

func checkCtx(ctx context.Context) error { return ctx.Err() }

// checkStart checks, when the pipeline knows its input schema, that the
// fields an operator reads exist: its key fields and its dedup field. A
// window keyed by a field the events lack would key every event by null.
func checkStart(op string, env stream.Env, keyBy []string, dedup string) error {
	if env.Schema == nil {
		return nil
	}
	if err := missingKey(op, env.Schema, keyBy); err != nil {
		return err
	}
	if dedup != "" && env.Schema.Index(dedup) < 0 {
		return fmt.Errorf("%s: dedup field %s not in the events' schema %s", op, dedup, env.Schema.Name())
	}
	return nil
}

// keySchema is the schema of a time window's results: its key fields, with
// their kinds in the input schema (a string when unknown).
func keySchema(name string, keyBy []string, input *stream.Schema) *stream.Schema {
	fields := make([]stream.Field, len(keyBy))
	for i, k := range keyBy {
		fields[i] = stream.Field{Name: k, Kind: stream.KindString}
		if input != nil {
			if j := input.Index(k); j >= 0 {
				fields[i].Kind = input.Field(j).Kind
			}
		}
	}
	s, err := stream.NewSchema(name, fields...)
	if err != nil { // KeyBy names a field twice: results carry no fields
		return nil
	}
	return s
}
