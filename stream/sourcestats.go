package stream

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SourceStat is what the runner counts of one source partition when
// Config.CountSources is set: a file, a file of a GlobSource, a Kafka
// partition. A silence check (stream/metrics) judges each from these.
type SourceStat struct {
	// Name is the partition's name: the file's path, "topic/partition" for
	// a Kafka partition (PartitionNamer, else the source's Name, followed by
	// "/partition" unless the partition is -1).
	Name string
	// Events counts the events read from it since Run started.
	Events int64
	// Registered is the processing time (UTC) it became known: at Run for the
	// partitions a source lists (PartitionLister), when a partition is
	// assigned or announced (Batch.NewPartitions), else at its first event.
	Registered time.Time
	// Last is the processing time (UTC) of its latest batch with events (zero
	// before its first).
	Last time.Time
	// Done is set once it can produce no more: its source ended (a bounded
	// input) or the partition was revoked from this consumer.
	Done bool
}

// PartitionNamer is implemented by sources that name their partitions in
// SourceStats (a GlobSource: each partition is a file, named by its path).
type PartitionNamer interface {
	PartitionName(partition int32) string
}

// sourceCounter is one partition's counts. Written by the processing
// goroutine (events, last) and the partition hooks (done); read by
// SourceStats from any goroutine.
type sourceCounter struct {
	name       string
	registered time.Time
	events     atomic.Int64
	last       atomic.Int64 // unix ns, 0: none
	done       atomic.Bool
}

// sourceCounts holds the counters of a pipeline's source partitions: a
// copy-on-write map, so that the processing goroutine looks one up without
// a lock; new partitions are added under mu.
type sourceCounts struct {
	mu sync.Mutex
	m  atomic.Pointer[map[PartitionID]*sourceCounter]
}

// get returns the counter of pid, if registered.
func (s *sourceCounts) get(pid PartitionID) *sourceCounter {
	if m := s.m.Load(); m != nil {
		return (*m)[pid]
	}
	return nil
}

// register returns the counter of pid, adding it named name at now. A
// partition registered again (assigned anew) is no longer done.
func (s *sourceCounts) register(pid PartitionID, name func() string, now time.Time) *sourceCounter {
	if c := s.get(pid); c != nil {
		c.done.Store(false)
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.m.Load()
	if old != nil {
		if c := (*old)[pid]; c != nil {
			c.done.Store(false)
			return c
		}
	}
	next := make(map[PartitionID]*sourceCounter, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	c := &sourceCounter{name: name(), registered: now}
	next[pid] = c
	s.m.Store(&next)
	return c
}

// finish marks the partitions of source src (every one when part is nil,
// else part) done.
func (s *sourceCounts) finish(src int, part *int32) {
	m := s.m.Load()
	if m == nil {
		return
	}
	for pid, c := range *m {
		if pid.Source == src && (part == nil || pid.Partition == *part) {
			c.done.Store(true)
		}
	}
}

// stats returns a snapshot, sorted by name.
func (s *sourceCounts) stats() []SourceStat {
	m := s.m.Load()
	if m == nil {
		return nil
	}
	out := make([]SourceStat, 0, len(*m))
	for _, c := range *m {
		st := SourceStat{Name: c.name, Events: c.events.Load(), Registered: c.registered.UTC(), Done: c.done.Load()}
		if ns := c.last.Load(); ns != 0 {
			st.Last = time.Unix(0, ns).UTC()
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b SourceStat) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// partitionName names partition part of src for SourceStats.
func partitionName(src Source, part int32) string {
	if pn, ok := src.(PartitionNamer); ok {
		return pn.PartitionName(part)
	}
	if part == -1 {
		return src.Name()
	}
	return src.Name() + "/" + strconv.FormatInt(int64(part), 10)
}

// SourceStats returns the counts of every source partition seen, sorted by
// name; nil unless Config.CountSources is set. Safe to call while running;
// the counts stay readable after Run returned.
func (p *Pipeline) SourceStats() []SourceStat { return p.srcCounts.stats() }

// registerSource makes partition part of source i known to SourceStats.
func (p *Pipeline) registerSource(i int, part int32, now time.Time) *sourceCounter {
	src := p.sources[i]
	return p.srcCounts.register(PartitionID{Source: i, Partition: part}, func() string { return partitionName(src, part) }, now)
}

// countSource adds n events of partition pid read at now. It is on the hot
// path, once per run of one partition's events in a batch: the last
// partition's counter is kept, others are a lock-free map lookup.
func (r *runner) countSource(pid PartitionID, n int, now time.Time) {
	c := r.lastCount
	if c == nil || r.lastCountPID != pid {
		if c = r.p.srcCounts.get(pid); c == nil {
			c = r.p.registerSource(pid.Source, pid.Partition, now)
		}
		r.lastCount, r.lastCountPID = c, pid
	}
	c.events.Add(int64(n))
	c.last.Store(now.UnixNano())
}
