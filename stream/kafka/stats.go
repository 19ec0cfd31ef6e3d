package kafka

import (
	"slices"
	"sync/atomic"
)

// PartitionStats describes one partition assigned to the consumer.
type PartitionStats struct {
	Partition int32
	// HighWater is the partition's high-water mark (the offset the next
	// produced message gets) as last reported by the broker; -1 if unknown.
	HighWater int64
	// Next is the next offset to deliver to the pipeline.
	Next int64
	// Marked is the next offset after the acknowledged prefix: the offset
	// committed (or about to be).
	Marked int64
	// Lag is HighWater - Marked: messages not yet processed to the end.
	Lag int64
	// InFlight is the number of delivered batches not yet acknowledged.
	InFlight int
}

// Stats is a snapshot of the consumer's counters.
type Stats struct {
	MemberID   string
	Generation int32
	// Rebalances counts the group generations this consumer joined,
	// including the first (like Kafka's rebalance-total metric).
	Rebalances int64
	// Revocations counts partitions given up (rebalance or close).
	Revocations int64
	// Batches, Delivered and Rejected count batches, events and malformed
	// messages handed to the pipeline.
	Batches, Delivered, Rejected int64
	// Acked and Nacked count messages settled by acknowledgements.
	Acked, Nacked int64
	// Errors counts group and consumer errors (retried).
	Errors int64
	// Partitions are the currently assigned partitions, by number.
	Partitions []PartitionStats
}

type counters struct {
	rebalances, revocations, batches, delivered, rejected, acked, nacked, errors atomic.Int64
}

// Stats returns the current counters and the per-partition lag. Safe to
// call at any time.
func (s *Source) Stats() Stats {
	st := Stats{
		Rebalances: s.stats.rebalances.Load(), Revocations: s.stats.revocations.Load(),
		Batches: s.stats.batches.Load(), Delivered: s.stats.delivered.Load(), Rejected: s.stats.rejected.Load(),
		Acked: s.stats.acked.Load(), Nacked: s.stats.nacked.Load(), Errors: s.stats.errors.Load(),
	}
	s.mu.Lock()
	if s.sess != nil {
		st.MemberID, st.Generation = s.sess.MemberID(), s.sess.GenerationID()
	}
	parts := make([]*partition, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	s.mu.Unlock()
	for _, p := range parts {
		st.Partitions = append(st.Partitions, p.snapshot())
	}
	slices.SortFunc(st.Partitions, func(a, b PartitionStats) int { return int(a.Partition - b.Partition) })
	return st
}
