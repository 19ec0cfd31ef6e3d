package window

import (
	"errors"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Predicate tells whether an event matches a condition of a pattern (a
// step of a sequence, the start or end of an absence): a compiled CEL
// condition, say. An operator calls its predicates from its one goroutine,
// so a predicate may keep state of its own (an activation); give each
// operator instance its own. An error counts in Stats.Errors and the event
// does not match.
type Predicate func(ev *stream.Event) (bool, error)

// Kinds of pattern results (WindowInfo.Kind).
const (
	KindSequence      = "sequence"
	KindAbsence       = "absence"
	KindNewValue      = "new_value"
	KindDistinctCount = "distinct_count"
)

// DefaultMaxMatches bounds the partial matches of a sequence, and the
// pending starts of an absence, per key.
const DefaultMaxMatches = 64

// PatternConfig holds the settings every pattern shares.
type PatternConfig struct {
	// Name is the results' WindowInfo.Name. Required.
	Name string
	// KeyBy names the key fields: patterns are matched per key. Required.
	KeyBy []string
	// Within bounds a match in event time, inclusive (see each pattern).
	// Required (positive).
	Within time.Duration
	// Dedup names the event id field: deliveries of one event (equal time
	// and id) count once. Empty: no dedup.
	Dedup string
	// AllowedLateness: decisions wait until the watermark minus this passes
	// an event, so events within the lateness are never missed and results
	// never retracted. Zero: the pipeline's AllowedLateness.
	AllowedLateness time.Duration
	// MaxKeys bounds the keys holding state (for new_value, the key and
	// value pairs). Beyond it the key whose last event is oldest (sampled,
	// as CountWithin does) is evicted, counted in Stats.Evictions and
	// logged. Default DefaultMaxKeys.
	MaxKeys int
	// MaxPending bounds the events buffered until the watermark passes.
	// Beyond it the oldest half is decided early (counted as evictions)
	// and events older than those become late. Default DefaultMaxPending.
	MaxPending int
}

func (c *PatternConfig) setDefaults() {
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
}

func (c PatternConfig) check() []error {
	errs := checkCommon(c.Name, c.AllowedLateness)
	if len(c.KeyBy) == 0 {
		errs = append(errs, errors.New("KeyBy needs at least one field"))
	}
	if c.Within <= 0 {
		errs = append(errs, errors.New("Within must be positive"))
	}
	return errs
}

// SequenceConfig configures a Sequence: per key, events matching Steps[0],
// Steps[1], ... in that order (other events in between are ignored), the
// last at most Within after the first (inclusive).
//
// Matching, in decision order (event time, then the tie-break of Order):
// a match's first event is the earliest event matching Steps[0] from
// which the remaining steps can be completed within Within, each taking
// the earliest later event that matches it; the match is reported when
// its last event is decided, and a later match starts after that event
// (Flink CEP's skip-past-last-event). One event may match several steps
// of different candidate matches; in a reported match it is used once.
type SequenceConfig struct {
	PatternConfig
	// Steps are the conditions, in order. At least two.
	Steps []Predicate
	// MaxMatches bounds the candidate matches (started, not yet complete or
	// expired) per key; beyond it the oldest is dropped, counted in
	// Stats.Evictions. Default DefaultMaxMatches.
	MaxMatches int
	// Early emits a match as soon as the events of its key that have
	// arrived (and are not used by an earlier result) hold the steps in
	// order within Within: in the Process call of the event that makes it,
	// without waiting for the watermark. The match is the one the rule
	// above finds among those events; it claims them up to its last one.
	// The event-time decision still runs at the watermark; its results
	// whose completing event already had an early result are not emitted
	// again (Stats.Confirmed), the others are (Stats.Corrections). With
	// events in order the early results are the event-time results, one
	// for one; under disorder every event-time result is emitted (early or
	// as a correction). The steps' predicates are also called on arrival
	// (errors there are not counted again in Stats.Errors). At most 64
	// Steps. See the package doc, "Early results".
	Early bool
}

// AbsenceConfig configures an Absence: per key, an event matching Start
// that no event matching End follows within Within (an end at exactly
// start + Within counts as following). The result fires when the watermark
// (minus the allowed lateness) passes start + Within, not earlier: an end
// that arrives late, but before that, cancels it. Each start is judged on
// its own: two starts before one end are both cancelled by it.
type AbsenceConfig struct {
	PatternConfig
	// Start and End are the conditions. Required. An event matching both
	// ends the starts before it, then starts a new one.
	Start, End Predicate
	// MaxMatches bounds the pending starts per key; beyond it the oldest is
	// dropped, counted in Stats.Evictions. Default DefaultMaxMatches.
	MaxMatches int
}

// NewValueConfig configures a NewValue: per key, an event whose Field has
// a value not seen for that key in the Within before it (an earlier event
// at exactly t - Within counts as seen). It fires on that event, as soon as
// it is decided, not at a window's close. The first value of a key is new.
// An event whose Field is null is ignored.
type NewValueConfig struct {
	PatternConfig
	// Field is the field whose values are tracked. Required.
	Field string
	// Early emits an event on arrival when its value was not seen among
	// the events of its key that have arrived, in the Within before it: in
	// its Process call, without waiting for the watermark. The event-time
	// decision still runs at the watermark; its results already emitted
	// early are not emitted again (Stats.Confirmed), the others are
	// (Stats.Corrections). With events in order the early results are the
	// event-time results, one for one. Under disorder, new_value is not
	// monotone: an event that arrives later but is earlier in event time
	// can make a value not new after all, so an early result may be one
	// the event-time answer does not have (it is not retracted); every
	// event-time result is emitted (early or as a correction), never
	// twice. See the package doc, "Early results".
	Early bool
}

// DistinctCountConfig configures a DistinctCount: per key, an event that
// brings the number of distinct values of Field among the key's events in
// [t - Within, t] to Count. It fires on that event; the match consumes the
// events (the next match counts values from the events after it). An
// event whose Field is null is ignored.
type DistinctCountConfig struct {
	PatternConfig
	// Field is the field whose distinct values are counted. Required.
	Field string
	// Count is the number of distinct values that makes a match (≥ 1).
	Count int
	// Early emits a match as soon as the events of its key that have
	// arrived (and are not used by an earlier result) hold Count distinct
	// values within Within: in the Process call of the event that makes
	// it, without waiting for the watermark. The match is the one the rule
	// above finds among those events; it claims them up to its completing
	// event. The event-time decision still runs at the watermark; its
	// results whose completing event already had an early result are not
	// emitted again (Stats.Confirmed), the others are (Stats.Corrections).
	// With events in order the early results are the event-time results,
	// one for one; under disorder every event-time result is emitted
	// (early or as a correction). See the package doc, "Early results".
	Early bool
}
