package analytics

import (
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
)

// Factory builds the analytics operators of one pipeline: use its New as
// (part of) the stream.Pipeline.ViaPartitioned factory. With
// stream.Config.Parallelism above 1 a partition runs several copies of its
// operators (lanes, each with the plays of some customers); each copy must
// write partials of its own, and the Factory numbers them: the runner builds
// and starts a partition's lanes in order, so lane i gets the same number,
// and the same snapshot, after a restart or a rebalance.
type Factory struct {
	rdb redis.UniversalClient
	cfg Config

	mu   sync.Mutex
	next map[stream.PartitionID]int
}

// NewFactory returns a factory of operators writing to rdb.
func NewFactory(rdb redis.UniversalClient, cfg Config) (*Factory, error) {
	if _, err := New(rdb, stream.PartitionID{}, cfg); err != nil {
		return nil, err
	}
	return &Factory{rdb: rdb, cfg: cfg, next: map[stream.PartitionID]int{}}, nil
}

// New returns the operator of partition pid (of its next lane).
func (f *Factory) New(pid stream.PartitionID) (*Analytics, error) {
	a, err := New(f.rdb, pid, f.cfg)
	if err != nil {
		return nil, err
	}
	a.factory = f
	return a, nil
}

// Operator is New as a stream.Operator, e.g. for music.Config.Analytics.
func (f *Factory) Operator(pid stream.PartitionID) (stream.Operator, error) { return f.New(pid) }

// lane returns the lane of the next operator of pid to start.
func (f *Factory) lane(pid stream.PartitionID, lanes int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.next[pid] % lanes
	f.next[pid] = l + 1
	return l
}

// LaneName is the name the partials of a lane of a partition are written
// under when the pipeline has several lanes: "<source>.<partition>.l<lane>".
func LaneName(p stream.PartitionID, lane int) string {
	return PartitionName(p) + ".l" + strconv.Itoa(lane)
}
