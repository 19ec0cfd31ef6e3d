package stream

import (
	"math"
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
	maxTime  int64     // highest event time seen
	lastSeen time.Time // processing time of the last event
	idle     bool
	done     bool
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
type WatermarkTracker struct {
	bound       int64
	idleTimeout time.Duration
	parts       map[PartitionID]*partitionState
	last        PartitionID
	lastState   *partitionState
	minState    *partitionState // the partition holding the minimum, if any
	current     int64
	allDone     bool
}

// NewWatermarkTracker returns a tracker with the given out-of-orderness
// bound and idle timeout (0 disables idleness).
func NewWatermarkTracker(bound, idleTimeout time.Duration) *WatermarkTracker {
	return &WatermarkTracker{bound: int64(bound), idleTimeout: idleTimeout, parts: map[PartitionID]*partitionState{}, current: MinWatermark}
}

// Watermark returns the current pipeline watermark.
func (w *WatermarkTracker) Watermark() int64 { return w.current }

// Observe records an event of partition p with event time ts, seen at
// processing time now, and moves the watermark if it can.
func (w *WatermarkTracker) Observe(p PartitionID, ts int64, now time.Time) {
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
	if ts > st.maxTime {
		st.maxTime = ts
		if st == w.minState && len(w.parts) == 1 && !recompute {
			// The only partition: its watermark is the pipeline's.
			if pw := st.watermark(w.bound); pw > w.current && !w.allDone {
				w.current = pw
			}
			return
		}
		if st == w.minState || w.minState == nil {
			recompute = true
		}
	}
	if recompute {
		w.recompute()
	}
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

// SetPartitionMax restores a partition's highest event time (from a
// checkpoint).
func (w *WatermarkTracker) SetPartitionMax(p PartitionID, maxTime int64, now time.Time) {
	w.Observe(p, maxTime, now)
}

// PartitionMax returns the highest event time partition p has seen.
func (w *WatermarkTracker) PartitionMax(p PartitionID) int64 {
	if st := w.parts[p]; st != nil {
		return st.maxTime
	}
	return MinWatermark
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
	return w.current
}
