package stream

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds of the decision-latency histograms'
// buckets: 100µs doubling up to about 105s (the last bucket, +Inf, is
// implied).
var LatencyBuckets = func() []time.Duration {
	out := make([]time.Duration, 21)
	for i := range out {
		out[i] = 100 * time.Microsecond << i
	}
	return out
}()

// LatencySnapshot is a decision-latency histogram at one moment: how long
// a rule's emissions took from their event's arrival in the process
// (Event.Arrived, when its source's Read returned it) to the flush of the
// sinks that acknowledged them.
type LatencySnapshot struct {
	// Counts are per bucket of LatencyBuckets, and one more past the last.
	Counts []int64
	Count  int64
	Sum    time.Duration
	Max    time.Duration
}

// Quantile estimates the q-quantile (0 < q ≤ 1) as the upper bound of the
// bucket holding it (Max for the last bucket); 0 with no observation.
func (s LatencySnapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(s.Count)))
	var seen int64
	for i, n := range s.Counts {
		seen += n
		if seen >= rank {
			if i < len(LatencyBuckets) {
				return min(LatencyBuckets[i], s.Max)
			}
			return s.Max
		}
	}
	return s.Max
}

// latencyHist is one rule's histogram: atomic counters, written by the
// writer goroutine and read by anyone.
type latencyHist struct {
	counts [22]atomic.Int64
	count  atomic.Int64
	sum    atomic.Int64
	max    atomic.Int64
}

func (h *latencyHist) observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i, _ := slices.BinarySearch(LatencyBuckets, d)
	h.counts[i].Add(1)
	h.count.Add(1)
	h.sum.Add(int64(d))
	if int64(d) > h.max.Load() {
		h.max.Store(int64(d)) // one writer
	}
}

func (h *latencyHist) snapshot() LatencySnapshot {
	s := LatencySnapshot{Counts: make([]int64, len(h.counts)), Sum: time.Duration(h.sum.Load()), Max: time.Duration(h.max.Load())}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
		s.Count += s.Counts[i] // consistent with the buckets, read one by one
	}
	return s
}

// decisionLatency holds a pipeline's histograms by rule, and the arrivals
// of the emissions written since the sinks' last flush.
type decisionLatency struct {
	mu      sync.Mutex
	byRule  map[string]*latencyHist
	local   map[string]*latencyHist // byRule without the lock: the writer's
	pending []pendingDecision       // the writer goroutine's only
}

type pendingDecision struct {
	h       *latencyHist
	arrived int64
}

// maxPendingDecisions bounds the emissions noted between two flushes (16
// bytes each): under a load that never leaves the writer idle, the sinks
// flush their batches themselves and the writer's flush may be far apart;
// the emissions beyond it are not observed.
const maxPendingDecisions = 1 << 20

// written notes the emissions of a message handed to the sinks.
func (d *decisionLatency) written(evs []Event) {
	for i := range evs {
		ev := &evs[i]
		if ev.Rule == "" || ev.Arrived == 0 || len(d.pending) >= maxPendingDecisions {
			continue
		}
		d.pending = append(d.pending, pendingDecision{h: d.hist(ev.Rule), arrived: ev.Arrived})
	}
}

// flushed observes the pending emissions as acknowledged at now.
func (d *decisionLatency) flushed(now time.Time) {
	t := now.UnixNano()
	for _, p := range d.pending {
		p.h.observe(time.Duration(t - p.arrived))
	}
	d.pending = d.pending[:0]
}

// dropped forgets the pending emissions (their write failed).
func (d *decisionLatency) dropped() { d.pending = d.pending[:0] }

func (d *decisionLatency) hist(rule string) *latencyHist {
	if h := d.local[rule]; h != nil {
		return h
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.byRule[rule]
	if h == nil {
		if d.byRule == nil {
			d.byRule = map[string]*latencyHist{}
		}
		h = &latencyHist{}
		d.byRule[rule] = h
	}
	if d.local == nil {
		d.local = map[string]*latencyHist{}
	}
	d.local[rule] = h
	return h
}

// DecisionLatency returns each rule's decision-latency histogram: from the
// arrival in the process of the event a rule decided on (for a window
// rule, the event that completed the match) to the flush of the sinks
// that acknowledged the emission. An emission the sinks wrote before that
// flush (a full batch) counts until the flush: an upper bound (the writer
// flushes at least every 100ms under load). Results built without an
// arriving event (an absence, a time window's aggregate) have no arrival
// and are not observed.
func (p *Pipeline) DecisionLatency() map[string]LatencySnapshot {
	d := &p.latency
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]LatencySnapshot, len(d.byRule))
	for rule, h := range d.byRule {
		out[rule] = h.snapshot()
	}
	return out
}
