// Package window holds rulestream's stateful, event-time operators: keyed
// tumbling, sliding (hopping) and session windows with aggregates, the
// count-within pattern ("N events of a key within T"), and two helpers that
// make downstream state order-independent: Order (release in event-time
// order) and Dedup (drop duplicate deliveries).
//
// Every operator is a plain state machine implementing stream.Operator,
// stream.Snapshotter and stream.Starter: the runner calls Process with
// batches and Advance with the watermark; no goroutines, timers or wall
// clock inside. Constructors return independent instances (one per
// partition if the runner wants).
//
// # Keys
//
// KeyBy names one or more fields. A key field the input schema lacks is
// refused at Start when the pipeline knows its schema (stream.Env.Schema),
// and an event whose schema lacks it (or that has no schema) fails Process:
// keying it by null would lump unrelated events together, silently. Keys of one or two int fields are packed
// into fixed-size words, a single string field is used as is, other keys
// are encoded into bytes: lookups allocate nothing. WindowInfo.Key is the
// key values' text joined with '|' (e.g. "42|7").
//
// # Time, order and determinism
//
// A partition's watermark W says that events before W are complete. An
// event is late when its time is before W minus the allowed lateness (the
// operator's AllowedLateness, or the pipeline's when that is zero); late
// events go to the late output (Emitter.Late) and are counted in
// Stats.Late.
//
// Count-within and Order take their decisions in event-time order once the
// watermark minus the allowed lateness has passed an event; events of equal
// time are ordered by the dedup field's value, then the event key, then the
// position. The set (and sequence) of results therefore does not depend on
// the arrival order of events that are not late; the cost is latency
// (out-of-orderness plus lateness). Early mode (see "Early results") trades
// some of that independence for results on arrival.
//
// Time windows fire when the watermark reaches their end: results go out
// sorted by window end, then key, then start. A window's content does not
// depend on arrival order: every aggregate is commutative (First and Last
// go by event time, ties by value).
//
// # Lateness policy of windows: re-fire with Update
//
// A fired window is kept until the watermark passes end + allowed lateness.
// An event that arrives in that time (not late) updates it, and the window
// fires again, at the end of the Process call, with the full updated result
// and WindowInfo.Update set. A late event that bridges fired sessions
// re-fires the merged session (Start = the earliest start) as an update;
// the results of the sessions it swallowed are not retracted. Consumers
// keep the last result of a (Name, Key, Start).
//
// # Results of tumbling, sliding and session windows
//
// A result is a stream.Event with Key = WindowInfo.Key, Time = End - 1 (the
// window's last instant, like Flink's maxTimestamp), Pos = {Source: Name,
// Partition: -1}, the key fields as its Fields (Schema: a schema named
// after the window with the KeyBy fields, typed as in the input), and
// Window set: Name, Kind
// ("tumbling", "sliding", "session"), Key, Start and End ([Start, End),
// unix ns; for sessions End = last event + Gap), Count, First and Last
// (event times), Aggs (the configured aggregates by name), Update.
//
// # Count-within
//
// NewCountWithin matches Count events of a key whose last and first times
// are at most Within apart (inclusive: exactly Within matches, Within + 1s
// does not). The result is a copy of the event that completed the match
// (its Key, Time, Pos, Schema, Fields and Joins) with Window set: Start =
// First = time of the match's first event, End = Last = time of the
// completing event, Count = Count. After a match its events are consumed
// (Flink CEP's skip-past-last-event); AllowOverlap lets them take part in
// later matches (every event that completes Count events within Within
// fires).
//
// # Patterns
//
// Four more operators match patterns of a key's events, decided in event
// time like count-within (buffered until the watermark minus the allowed
// lateness passes them, then taken in the deterministic order), so that
// their results do not depend on arrival order; their semantics are in
// their configs (pattern.go):
//
//   - Sequence: events matching Steps[0], Steps[1]... in order, the last at
//     most Within after the first; each step takes the earliest event that
//     can complete the match; the next match starts after its last event.
//     The result is the completing event, its Window.Steps the matched
//     events.
//   - Absence: an event matching Start that no event matching End follows
//     within Within; it fires when the watermark passes start + Within.
//   - NewValue: an event whose Field has a value its key has not shown in
//     the Within before it; it fires on that event.
//   - DistinctCounter: an event that brings the distinct values of Field
//     among its key's events in the last Within to Count; the match
//     consumes its events.
//
// Their conditions are Predicates (compiled CEL conditions, in a job). An
// event whose key field is null is dead-lettered by every keyed operator.
// Every pattern bounds its state (MaxKeys, MaxPending, and MaxMatches for
// the candidate matches of Sequence and Absence); reaching a bound evicts
// the oldest, counted in Stats.Evictions and logged at most once a minute.
//
// # Early results
//
// CountWithin, Sequence, DistinctCounter and NewValue take an opt-in Early
// setting (CountWithinConfig.Early, SequenceConfig.Early,
// DistinctCountConfig.Early, NewValueConfig.Early): a result goes out as
// soon as the events that have arrived make it certain, in the Process
// call of the event that completes it, instead of once the watermark minus
// the allowed lateness passes it.
//
// In Process, each accepted event (not late, not a duplicate) joins its
// key's pool: the events arrived that no early result has claimed and no
// event-time match has consumed. When the pool then holds a match
// (count-within: Count events within Within; distinct_count: Count
// distinct values within Within; sequence: the steps in order within
// Within, chosen by the sequence's own rule), the operator emits at once
// the result the event-time decision gives that match, a copy of its
// completing event (its last in decision order) with Window set, and the
// match claims the pool's events up to its completing event (skip past
// last event; with AllowOverlap nothing is claimed, and each event
// completes at most one early result). These three are monotone: more events never undo a match,
// so an early result is a real match of events that exist, whatever
// arrives later. NewValue is not: an event is new early when no event of
// its key with its value that has arrived lies in the Within before it,
// and an event that arrives later but is earlier in event time can make
// it not new.
//
// In Advance the event-time decision runs exactly as without Early. Each
// of its results whose completing event had an early result (the same
// time and dedup value, or without a dedup value the same position) is
// not emitted again (counted in Stats.Confirmed); any other is emitted, a
// correction (Stats.Corrections). Stats.Early counts the early results;
// Stats.Emitted counts early results and corrections. So a consumer sees:
//
//   - Events in decision order: the early results are the event-time
//     results, one for one, each in the call of its completing event; the
//     watermark emits nothing more.
//   - Events out of order within the allowed lateness: every event-time
//     result is emitted, early or as a correction, and no completing
//     event twice; besides, an early result may complete a match that the
//     event-time answer completes with another event (or, for new_value,
//     be a value the event-time answer does not call new). Nothing is
//     retracted.
//   - Count-within: per key, the earliest completion time among the
//     results emitted is the event-time answer's first match (that match
//     completes as early as any Count events of the key within Within can,
//     every early result is such a set, and the event-time result is
//     emitted), and a key has a result exactly when it has one in event
//     time. A sorted set written with ZADD LT, scored by completion time,
//     converges to the event-time answer. With AllowOverlap the results
//     are exactly the event-time results, all early (an event's result
//     depends only on the events before it within Within, which have all
//     arrived when it fires); a result's First is then taken from the
//     events arrived so far.
//   - NewValue: an event-time result always went out early (an event that
//     hid it on arrival hides it in event time too), so there are no
//     corrections, only, under disorder, early results the event-time
//     answer lacks.
//
// These hold while no bound is reached: see below for what evictions and
// shedding do.
//
// Cost and bounds: an undecided event is held once more (the buffer holds
// the other copy); a decided one keeps its time (for Sequence its event,
// for DistinctCounter its value) until the release point is more than
// Within past it, a claimed one until it is decided. The bookkeeping holds at most
// MaxKeys keys and MaxPending events: beyond, the key whose newest event is
// oldest among 16 sampled loses it (Stats.Evictions), and that key's
// early results may go out again at the watermark, as corrections. Shed
// drops ceil(fraction × k) of its k keys the same way. Snapshots carry it,
// so that a restored operator neither fires an early result again nor
// emits its event-time result twice; an operator without Early restores
// such a snapshot and drops it. Duplicates are recognised per key (time
// and dedup value). Sequence's steps are also called on arrival (their
// errors counted once, by the event-time decision), and Early allows at
// most 64 steps. Without Early, nothing changes: the cost is one nil check
// per event.
//
// # Duplicates
//
// Each operator takes a Dedup field (e.g. "event_id"). Count-within and
// Order drop deliveries of equal time and id while they wait for the
// watermark (no extra memory). Time and session windows and Dedup remember
// ids while their event time is within the allowed lateness (a later
// duplicate would be late anyway), at most MaxIDs (default DefaultMaxIDs),
// earliest arrivals evicted first (counted in Stats.Evictions).
//
// # State bounds and expiry
//
// State expires in Advance, never on a timer: a count-within key once the
// release point is more than Within past its last event (found by an
// incremental sweep proportional to the events decided; all at the final
// watermark), a window once the watermark passes end + lateness, a key with
// its last window. MaxKeys bounds the keys; the eviction policy is per
// operator (see the configs) and counted in Stats.Evictions. MaxPending
// bounds the events waiting for the watermark.
//
// Event times must lie within ±MaxEventTime (2^62 ns: 1823-11-12 to
// 2116-02-20) for every window and pattern, so that window arithmetic
// cannot overflow; other events go to the dead letter (Emitter.DeadLetter)
// with their fields' text as raw bytes, counted in Stats.Rejected. Give a
// decoder EventTimes as its stream.RecordSpec.EventTimes to refuse them
// there instead, with the record's own raw bytes.
//
// # Memory budget
//
// Every operator implements stream.Shedder: when the live heap passes the
// pipeline's stream.Config.MemoryBudget, the runner calls Shed(fraction)
// on each, and at the start of its next Process or Advance call (whose
// emitter carries what it emits) the operator drops ceil(fraction × n) of
// the n items of each kind of state it holds, oldest first, by the policy
// of its hard bounds. What it drops counts in Stats.Evictions and is logged
// at Warn ("state shed for the memory budget") at most once a minute of the
// pipeline's clock. The choice depends only on the calls made (Shed, then
// the next call), never on timing. Results then degrade as follows:
//
//   - Tumbling, sliding and session windows: the windows with the earliest
//     pending action (as MaxKeys evicts). A window
//     not fired yet fires early with what it holds; its later events open
//     a new window whose result is not marked Update, so a consumer sees
//     two partial results for one window (a session splits in two). A
//     fired window kept for its lateness is dropped: a late event opens a
//     new window instead of updating it. Then the earliest-arrived dedup
//     ids: a re-delivery of one counts again.
//   - Count-within, Sequence, Absence, NewValue, DistinctCounter: first
//     the oldest buffered events are decided early, as MaxPending does
//     (what they complete goes out in that call; events older than those
//     become late), then the keys whose state is oldest (by their last
//     event; for Sequence and Absence their newest candidate or start;
//     sampled among 16, as MaxKeys does; for NewValue the (key, value)
//     pairs), with all they hold: a count-within key loses its partial count and a
//     distinct-count key its values (their next events count from zero), a
//     sequence key its candidate matches (a match under way is never
//     reported), an absence key its pending starts (they never fire), and
//     a NewValue value is forgotten (it is new, and fires, the next time
//     its key shows it).
//   - Order: the oldest buffered events are released early, in order;
//     events older than those become late.
//   - Dedup: the earliest-arrived ids: a re-delivery of one passes, a
//     duplicate downstream.
//
// Among windows of one action time the heap's layout chooses, and the
// patterns sample keys at their table's sweep cursor: the same calls
// choose the same state, but a restored operator (laid out anew) may
// choose other windows of that time, or keys of about the same age.
// (Choosing by content instead costs a sort of all the state: a shed of an
// eighth of 1M daily windows took 1 s and 164 MB instead of 77 ms and 77
// MB, BenchmarkShed.)
//
// # Snapshots
//
// Snapshot writes a versioned binary format ("RSW", operator byte, version)
// that Restore reads back exactly into an operator of the same
// configuration; corrupt input gives an error wrapping ErrCorrupt, never a
// panic. Events waiting for the watermark are part of the snapshot.
// Buffered events keep their Fields slices: sources must not reuse field
// memory after a batch (stream's sources do not).
//
// Every stateful operator also checkpoints incrementally
// (stream.DeltaSnapshotter): each checkpoint carries only the entries (a
// key's state, a buffered event, a pending start, a dedup id) changed since
// the previous one. The tracking starts with the first such checkpoint and
// costs nothing before.
package window
