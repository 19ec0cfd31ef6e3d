package kafka

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/stream"
)

// span is one delivered batch of a partition: offsets [start, end).
type span struct {
	seq        uint64
	start, end int64
	done       bool
}

// partition is the state of one assigned partition during one session.
type partition struct {
	src   *Source
	sess  sarama.ConsumerGroupSession
	topic string
	id    int32

	claim    atomic.Pointer[sarama.ConsumerGroupClaim] // live high-water mark
	assigned bool                                      // OnAssign succeeded (OnRevoke is owed)

	mu      sync.Mutex
	spans   []span // delivered, not yet acknowledged, in offset order
	seq     uint64
	started bool  // the claim began: next is known
	next    int64 // next offset to deliver
	marked  int64 // next offset after the acknowledged prefix
	limit   int64 // offsets at or past a nacked batch are never marked
	closed  bool  // released: acknowledgements no longer mark
	drained chan struct{}
}

func newPartition(s *Source, sess sarama.ConsumerGroupSession, topic string, id int32) *partition {
	p := &partition{src: s, sess: sess, topic: topic, id: id, next: -1, marked: -1, limit: math.MaxInt64}
	return p
}

// begin records the offset the claim starts at.
func (p *partition) begin(start int64) {
	p.mu.Lock()
	p.started, p.next, p.marked = true, start, start
	p.mu.Unlock()
}

// register adds a batch about to be handed over and returns its ack.
func (p *partition) register(start, end int64) (uint64, stream.AckFunc) {
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.spans = append(p.spans, span{seq: seq, start: start, end: end})
	p.mu.Unlock()
	return seq, func(_ context.Context, err error) error {
		p.ack(seq, err)
		return nil
	}
}

// unregister drops the last registered batch: it was never handed over.
func (p *partition) unregister(seq uint64) {
	p.mu.Lock()
	if n := len(p.spans); n > 0 && p.spans[n-1].seq == seq {
		p.spans = p.spans[:n-1]
	}
	p.signalDrained()
	p.mu.Unlock()
}

// delivered records that a batch ending at end went to the reader.
func (p *partition) delivered(end int64) {
	p.mu.Lock()
	if end > p.next {
		p.next = end
	}
	p.mu.Unlock()
}

// ack settles one batch. Offsets are marked for the contiguous acknowledged
// prefix only, never past a nacked batch.
func (p *partition) ack(seq uint64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	for i < len(p.spans) && p.spans[i].seq != seq {
		i++
	}
	if i == len(p.spans) {
		return // already settled
	}
	st := &p.src.stats
	n := p.spans[i].end - p.spans[i].start
	if err != nil {
		st.nacked.Add(n)
		p.limit = min(p.limit, p.spans[i].start)
		p.spans = append(p.spans[:i], p.spans[i+1:]...)
		if !p.closed {
			p.src.nacked(p, err)
		}
	} else {
		st.acked.Add(n)
		p.spans[i].done = true
	}
	mark := int64(-1)
	for len(p.spans) > 0 && p.spans[0].done {
		mark = p.spans[0].end
		p.spans = p.spans[1:]
	}
	if mark >= 0 && mark <= p.limit && !p.closed && mark > p.marked {
		p.marked = mark
		p.sess.MarkOffset(p.topic, p.id, mark, "")
	}
	p.signalDrained()
}

func (p *partition) signalDrained() {
	if len(p.spans) == 0 && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
}

// waitDrained waits until every delivered batch is settled, the timeout
// passes or abort closes. It reports whether all were settled.
func (p *partition) waitDrained(timeout time.Duration, abort <-chan struct{}) bool {
	p.mu.Lock()
	if len(p.spans) == 0 {
		p.mu.Unlock()
		return true
	}
	if p.drained == nil {
		p.drained = make(chan struct{})
	}
	ch := p.drained
	p.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
	case <-abort:
	}
	return false
}

// close stops marking: later acknowledgements are ignored.
func (p *partition) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// caughtUp reports whether everything below hwm was delivered.
func (p *partition) caughtUp(hwm int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started && p.next >= hwm
}

func (p *partition) snapshot() PartitionStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := PartitionStats{Partition: p.id, HighWater: -1, Next: p.next, Marked: p.marked}
	if c := p.claim.Load(); c != nil {
		ps.HighWater = (*c).HighWaterMarkOffset()
	}
	for _, sp := range p.spans {
		if sp.end <= p.next { // handed over (the last one may still be waiting)
			ps.InFlight++
		}
	}
	if ps.HighWater >= 0 && ps.Marked >= 0 {
		ps.Lag = max(0, ps.HighWater-ps.Marked)
	}
	return ps
}
