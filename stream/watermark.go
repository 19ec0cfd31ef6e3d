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

// WatermarkTracker computes bounded-out-of-orderness watermarks per
// partition and the pipeline watermark: the minimum over active partitions.
// A partition that has seen no event for IdleTimeout (processing time) is
// idle and left out of the minimum until it produces again; a finished
// partition is left out for good. The pipeline watermark never goes back.
// It is a plain state machine: the caller passes processing time in.
type WatermarkTracker struct {
	bound       int64
	idleTimeout time.Duration
	parts       map[PartitionID]*partitionState
	last        PartitionID
	lastState   *partitionState
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
// processing time now. It does not move the pipeline watermark; call Update.
func (w *WatermarkTracker) Observe(p PartitionID, ts int64, now time.Time) {
	st := w.lastState
	if st == nil || w.last != p {
		st = w.parts[p]
		if st == nil {
			st = &partitionState{maxTime: MinWatermark}
			w.parts[p] = st
		}
		w.last, w.lastState = p, st
	}
	if ts > st.maxTime {
		st.maxTime = ts
	}
	st.lastSeen = now
	st.idle = false
}

// Finish marks every partition of source src as finished.
func (w *WatermarkTracker) Finish(src int) {
	for id, st := range w.parts {
		if id.Source == src {
			st.done = true
		}
	}
}

// Remove forgets partition p (revoked from this consumer).
func (w *WatermarkTracker) Remove(p PartitionID) {
	delete(w.parts, p)
	w.last, w.lastState = PartitionID{}, nil
}

// PartitionWatermark returns the watermark of one partition.
func (w *WatermarkTracker) PartitionWatermark(p PartitionID) int64 {
	st := w.parts[p]
	if st == nil || st.maxTime == MinWatermark {
		return MinWatermark
	}
	return st.maxTime - w.bound
}

// AllDone tells the tracker that all sources ended: the watermark becomes
// MaxWatermark on the next Update.
func (w *WatermarkTracker) AllDone() { w.allDone = true }

// Update recomputes the pipeline watermark at processing time now and
// returns it with whether it advanced.
func (w *WatermarkTracker) Update(now time.Time) (int64, bool) {
	if w.allDone {
		adv := w.current != MaxWatermark
		w.current = MaxWatermark
		return w.current, adv
	}
	min := int64(math.MaxInt64)
	active := 0
	for _, st := range w.parts {
		if st.done {
			continue
		}
		if w.idleTimeout > 0 && now.Sub(st.lastSeen) >= w.idleTimeout {
			st.idle = true
		}
		pw := MinWatermark
		if st.maxTime != MinWatermark {
			pw = st.maxTime - w.bound
		}
		if st.idle {
			continue
		}
		active++
		if pw < min {
			min = pw
		}
	}
	if active == 0 {
		// Every partition idle or finished: hold the watermark where it is,
		// as Flink does, until a partition produces again or all input ends.
		min = w.current
	}
	if min > w.current {
		w.current = min
		return min, true
	}
	return w.current, false
}
