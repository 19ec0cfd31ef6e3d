package stream

import (
	"math"
	"slices"
	"time"
)

// Watermark values at the ends of time.
const (
	// MinWatermark is the watermark before any event: nothing is late.
	MinWatermark int64 = math.MinInt64
	// MaxWatermark is the watermark after the end of all input: every window fires.
	MaxWatermark int64 = math.MaxInt64
)

// PartitionID names one partition of one source of a pipeline.
type PartitionID struct {
	Source    int
	Partition int32
}

type partitionState struct {
	maxTime  int64     // the partition's event-time clock: the highest supported event time
	lastSeen time.Time // processing time of the last event
	idle     bool
	done     bool
	// ahead holds, in arrival order, the times of the events seen in a row
	// beyond maxTime + MaxAhead (all of them before the clock starts): not
	// yet supported, they do not move the clock.
	ahead []int64
}

func (st *partitionState) watermark(bound int64) int64 {
	if st.maxTime == MinWatermark {
		return MinWatermark
	}
	return st.maxTime - bound
}

// WatermarkTracker computes bounded-out-of-orderness watermarks per
// partition and the pipeline watermark: the minimum over active partitions.
// An event with time ts is on time while ts >= watermark. A partition that
// has seen no event for IdleTimeout (processing time) is idle and left out of
// the minimum until it produces again; a finished partition is left out for
// good; when every partition is idle the watermark holds. The watermark never
// goes back. It moves with every event (Observe), so lateness is decided per
// event whatever the batching; idleness is re-evaluated by Update.
// It is a plain state machine: the caller passes processing time in.
//
// # Outliers
//
// A partition's watermark is its clock minus the bound, and its clock is the
// highest event time it has seen that the data supports (SetOutlierGuard):
// an event more than maxAhead beyond the clock does not move it on its own.
// Such events are held out of the clock (they are still processed, and on
// time) until confirm of them have arrived in a row; the clock then moves to
// the lower median of those confirm times, and the events among them within
// maxAhead of the new clock move it further, as if they had arrived after it.
// An event within maxAhead of the clock (not late) ends the run: the events
// of the run were outliers, and are forgotten. A partition's clock starts
// at its first event that another event within maxAhead supports (the
// earlier of the two, then the events seen so far move it as above), or,
// after confirm events none of which supports another, at their lower
// median; until then its watermark holds the pipeline's where it is.
//
// So fewer than confirm events in a row far ahead of a partition's data (a
// future-dated record, a device with a broken clock) never move its
// watermark, and a single one before its data does not either. A real jump of the data (a source resuming after a
// gap longer than maxAhead, a replay of an older or newer period) moves the
// clock once confirm events beyond it arrived in a row: a delay of confirm
// events, bounded whatever the event times are. maxAhead must exceed the
// usual gap between a partition's consecutive events, or each of them waits
// for the next confirm.
type WatermarkTracker struct {
	bound       int64
	idleTimeout time.Duration
	parts       map[PartitionID]*partitionState
	last        PartitionID
	lastState   *partitionState
	minState    *partitionState // the partition holding the minimum, if any
	current     int64
	allDone     bool

	maxAhead int64 // 0: no guard
	confirm  int
	// idleAdvance: once no partition had an event for this long, the
	// watermark moves with processing time (0: off).
	idleAdvance time.Duration
	advances    int64
	waiting     bool // input read and not yet observed: not quiet
	scratch     []int64
	counts      OutlierCounts
}

// OutlierCounts counts the outlier guard's work.
type OutlierCounts struct {
	// Held are the events that arrived more than maxAhead beyond their
	// partition's clock, held out of it (not those before it started).
	Held int64
	// Outliers are the held events found to be outliers: an event within
	// maxAhead of the clock came before confirm of them had arrived.
	Outliers int64
	// Jumps counts the times a partition's clock moved on a confirmed run
	// (the first confirm events of each partition included).
	Jumps int64
}

// NewWatermarkTracker returns a tracker with the given out-of-orderness
// bound and idle timeout (0 disables idleness).
func NewWatermarkTracker(bound, idleTimeout time.Duration) *WatermarkTracker {
	return &WatermarkTracker{bound: int64(bound), idleTimeout: idleTimeout, parts: map[PartitionID]*partitionState{}, current: MinWatermark}
}

// SetOutlierGuard makes a partition's clock ignore events more than
// maxAhead beyond it until confirm of them arrived in a row (see Outliers
// above). maxAhead <= 0 or confirm <= 1 disables the guard: every event
// moves its partition's clock, the default. Set it before the first event.
func (w *WatermarkTracker) SetOutlierGuard(maxAhead time.Duration, confirm int) {
	if maxAhead <= 0 || confirm <= 1 {
		w.maxAhead, w.confirm = 0, 0
		return
	}
	w.maxAhead, w.confirm = int64(maxAhead), confirm
	w.scratch = make([]int64, 0, confirm)
}

// OutlierCounts returns the outlier guard's counts.
func (w *WatermarkTracker) OutlierCounts() OutlierCounts { return w.counts }

// Watermark returns the current pipeline watermark.
func (w *WatermarkTracker) Watermark() int64 { return w.current }

// Observe records an event of partition p with event time ts, seen at
// processing time now, and moves the watermark if it can. It reports
// whether the event was held out of its partition's clock for being too
// far ahead of it (see Outliers; not the events before the clock starts).
func (w *WatermarkTracker) Observe(p PartitionID, ts int64, now time.Time) (held bool) {
	st := w.lastState
	recompute := false
	if st == nil || w.last != p {
		st = w.parts[p]
		if st == nil {
			st = &partitionState{maxTime: MinWatermark}
			w.parts[p] = st
			recompute = true
		}
		w.last, w.lastState = p, st
	}
	if st.idle {
		st.idle = false
		recompute = true
	}
	st.lastSeen = now
	moved := false
	switch c := st.maxTime; {
	case w.maxAhead == 0:
		if ts > c {
			st.maxTime, moved = ts, true
		}
	case ts <= c && c != MinWatermark && len(st.ahead) == 0:
		// Behind the clock, nothing held: the common case of disorder.
	case ts > c && c != MinWatermark && len(st.ahead) == 0 && uint64(ts)-uint64(c) <= uint64(w.maxAhead):
		st.maxTime, moved = ts, true
	default:
		moved, held = w.guard(st, ts)
	}
	if moved {
		if st == w.minState && len(w.parts) == 1 && !recompute {
			// The only partition: its watermark is the pipeline's.
			if pw := st.watermark(w.bound); pw > w.current && !w.allDone {
				w.current = pw
			}
			return held
		}
		if st == w.minState || w.minState == nil {
			recompute = true
		}
	}
	if recompute {
		w.recompute()
	}
	return held
}

// ahead reports whether ts lies more than maxAhead beyond the clock c
// (always, before the clock starts).
func (w *WatermarkTracker) ahead(c, ts int64) bool {
	return c == MinWatermark || (ts > c && uint64(ts)-uint64(c) > uint64(w.maxAhead))
}

// guard applies the outlier guard to an event of time ts: it reports
// whether the clock moved and whether the event was held.
func (w *WatermarkTracker) guard(st *partitionState, ts int64) (moved, held bool) {
	before := st.maxTime
	if before == MinWatermark {
		// No clock yet: it starts at the first event another one within
		// maxAhead supports (or at the lower median of confirm events).
		for _, t := range st.ahead {
			if d := int64(uint64(max(t, ts)) - uint64(min(t, ts))); d >= 0 && d <= w.maxAhead {
				w.start(st, min(t, ts), ts)
				return true, false
			}
		}
		st.ahead = append(st.ahead, ts)
		if len(st.ahead) >= w.confirm {
			w.counts.Jumps++
			w.start(st, w.lowerMedian(st.ahead), MinWatermark)
			return st.maxTime != MinWatermark, false
		}
		return false, false
	}
	if !w.ahead(st.maxTime, ts) {
		w.near(st, ts)
		return st.maxTime != before, false
	}
	w.counts.Held++
	st.ahead = append(st.ahead, ts)
	if len(st.ahead) < w.confirm {
		return false, true
	}
	// confirm events in a row: the data has moved. The clock takes their
	// lower median, then the run is replayed in arrival order against it.
	w.counts.Jumps++
	w.start(st, max(st.maxTime, w.lowerMedian(st.ahead)), MinWatermark)
	return st.maxTime != before, true
}

// start sets a partition's clock to c and replays its held run (then the
// event of time last, unless MinWatermark) in arrival order against it:
// each event within maxAhead moves the clock as usual, the others start a
// new run (fewer than confirm/2 + 1 of them: no new jump).
func (w *WatermarkTracker) start(st *partitionState, c, last int64) {
	run := append(w.scratch[:0], st.ahead...)
	if last != MinWatermark {
		run = append(run, last)
	}
	st.maxTime = c
	st.ahead = st.ahead[:0]
	for _, t := range run {
		if w.ahead(st.maxTime, t) {
			st.ahead = append(st.ahead, t)
			continue
		}
		w.near(st, t)
	}
	w.scratch = run[:0]
}

// near applies an event within maxAhead of the clock: it moves the clock,
// and, when on time, ends the run held (whose events were outliers).
func (w *WatermarkTracker) near(st *partitionState, ts int64) {
	if ts >= st.maxTime-w.bound && len(st.ahead) > 0 {
		w.counts.Outliers += int64(len(st.ahead))
		st.ahead = st.ahead[:0]
	}
	if ts > st.maxTime {
		st.maxTime = ts
	}
}

// lowerMedian returns the lower median of times (not modified).
func (w *WatermarkTracker) lowerMedian(times []int64) int64 {
	s := append(w.scratch[:0], times...)
	slices.Sort(s)
	m := s[(len(s)-1)/2]
	w.scratch = s[:0]
	return m
}

// recompute takes the minimum over active partitions, by their flags.
func (w *WatermarkTracker) recompute() {
	if w.allDone {
		w.current = MaxWatermark
		return
	}
	min := int64(math.MaxInt64)
	var minState *partitionState
	for _, st := range w.parts {
		if st.done || st.idle {
			continue
		}
		if pw := st.watermark(w.bound); minState == nil || pw < min {
			min, minState = pw, st
		}
	}
	w.minState = minState
	if minState != nil && min > w.current {
		w.current = min
	}
}

// Expect registers partition p before its first event: until it produces,
// goes idle (IdleTimeout after now) or finishes, it holds the pipeline
// watermark where it is, so that a source that starts late (one file of
// several, read more slowly) does not find its events behind the others'.
func (w *WatermarkTracker) Expect(p PartitionID, now time.Time) {
	if w.parts[p] == nil {
		w.parts[p] = &partitionState{maxTime: MinWatermark, lastSeen: now}
		w.last, w.lastState = PartitionID{}, nil
		w.recompute()
	}
}

// SetPartitionMax restores a partition's clock, its highest supported
// event time (from a checkpoint).
func (w *WatermarkTracker) SetPartitionMax(p PartitionID, maxTime int64, now time.Time) {
	st := w.parts[p]
	if st == nil {
		st = &partitionState{maxTime: MinWatermark}
		w.parts[p] = st
	}
	st.lastSeen, st.idle = now, false
	if maxTime > st.maxTime {
		st.maxTime = maxTime
	}
	w.last, w.lastState, w.minState = PartitionID{}, nil, nil
	w.recompute()
}

// RaiseTo moves the watermark up to wm if it is below (a restored
// checkpoint's, which an idle advance may have put ahead of its partition's
// clock minus the bound); it never goes back.
func (w *WatermarkTracker) RaiseTo(wm int64) {
	if wm > w.current && !w.allDone && wm != MaxWatermark {
		w.current = wm
	}
}

// PartitionMax returns partition p's clock: the highest event time it has
// seen that the data supports (the highest it has seen, without an outlier
// guard).
func (w *WatermarkTracker) PartitionMax(p PartitionID) int64 {
	if st := w.parts[p]; st != nil {
		return st.maxTime
	}
	return MinWatermark
}

// MaxClock returns the highest partition clock (MinWatermark before any).
func (w *WatermarkTracker) MaxClock() int64 {
	max := MinWatermark
	for _, st := range w.parts {
		if st.maxTime > max {
			max = st.maxTime
		}
	}
	return max
}

// Finish marks every partition of source src as finished.
func (w *WatermarkTracker) Finish(src int) {
	for id, st := range w.parts {
		if id.Source == src {
			st.done = true
		}
	}
	w.recompute()
}

// Remove forgets partition p (revoked from this consumer).
func (w *WatermarkTracker) Remove(p PartitionID) {
	delete(w.parts, p)
	w.last, w.lastState, w.minState = PartitionID{}, nil, nil
	w.recompute()
}

// PartitionWatermark returns the watermark of one partition.
func (w *WatermarkTracker) PartitionWatermark(p PartitionID) int64 {
	if st := w.parts[p]; st != nil {
		return st.watermark(w.bound)
	}
	return MinWatermark
}

// AllDone tells the tracker that all sources ended: the watermark becomes
// MaxWatermark.
func (w *WatermarkTracker) AllDone() {
	w.allDone = true
	w.current = MaxWatermark
}

// SetIdleAdvance makes event time move with processing time while the
// input is quiet (a live input): once no partition had an event for d
// (processing time) and some has not finished, the watermark is the highest
// partition clock plus the processing time passed since the latest event
// arrived, re-evaluated by Update. So an absence's deadline or a window's
// end passes about when it passes on the wall clock (not before d after
// the last event), instead of when the next events arrive, which may be
// never. The price: the bound no longer applies past a quiet spell. An
// event that arrives after one, older than the newest event time plus the
// quiet time, is late, though it is within the bound of the newest event
// (a producer's retry after a 30 s outage, a collector flushing old
// lines): after a quiet spell the effective lateness is the spell. Input
// read and not yet observed (InputWaiting) keeps the input from being
// quiet. d <= 0 disables it, the default.
func (w *WatermarkTracker) SetIdleAdvance(d time.Duration) { w.idleAdvance = max(d, 0) }

// IdleAdvances counts the Updates that moved the watermark with
// processing time (SetIdleAdvance).
func (w *WatermarkTracker) IdleAdvances() int64 { return w.advances }

// InputWaiting tells the tracker whether input was read that it has not
// observed yet (batches waiting for processing): the input is then not
// quiet, however long ago the last event was observed, and the next
// Updates do not advance the watermark with processing time.
func (w *WatermarkTracker) InputWaiting(waiting bool) { w.waiting = waiting }

// advanceIdle moves the watermark with processing time when every
// partition has been quiet for idleAdvance.
func (w *WatermarkTracker) advanceIdle(now time.Time) {
	if w.allDone || w.waiting {
		return
	}
	var last time.Time
	clock, active := MinWatermark, false
	for _, st := range w.parts {
		clock = max(clock, st.maxTime)
		active = active || !st.done
		if st.lastSeen.After(last) {
			last = st.lastSeen
		}
	}
	quiet := now.Sub(last)
	if !active || clock == MinWatermark || quiet < w.idleAdvance {
		return
	}
	if c := clock + int64(quiet); c > w.current && c > clock {
		w.current = c
		w.advances++
	}
}

// Update re-evaluates idleness at processing time now and returns the
// watermark.
func (w *WatermarkTracker) Update(now time.Time) int64 {
	if w.idleTimeout > 0 {
		changed := false
		for _, st := range w.parts {
			if !st.idle && !st.done && now.Sub(st.lastSeen) >= w.idleTimeout {
				st.idle = true
				changed = true
			}
		}
		if changed {
			w.recompute()
		}
	}
	if w.idleAdvance > 0 {
		w.advanceIdle(now)
	}
	return w.current
}
