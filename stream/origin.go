package stream

import "sync/atomic"

// Origin is what a sink learns about the checkpointed partition an event
// came from, to write exactly once across crashes, replays and zombies:
//
//   - A crash replays a partition from its last checkpoint saved: only what
//     was emitted after it can be emitted again. Gen is the offset of the
//     checkpoint taken before the event was emitted, and Committed the
//     offset of the last one saved: a sink that remembers what it wrote per
//     generation can forget the generations below Committed (targets does,
//     so that its memory follows the checkpoint interval, not the events
//     written).
//   - Epoch is the fencing epoch of this consumer's assignment of the
//     partition (checkpoint.Redis takes one per assignment; 0 when the
//     store has none): a write carrying an epoch below one already seen
//     for the partition comes from a zombie and must be refused.
//
// The runner shares one Origin among the events of a generation; its fields
// never change.
type Origin struct {
	Key   string // the partition's checkpoint key (pipeline/source/partition)
	Epoch int64
	Gen   int64 // -1 before the partition's first checkpoint
	saved *atomic.Int64
}

// Committed returns the offset of the partition's last checkpoint saved
// (-1 if none): a replay starts there or later.
func (o *Origin) Committed() int64 { return o.saved.Load() }

// EpochStore is implemented by CheckpointStores that fence: Epoch returns
// the epoch this consumer holds for a key (0: none).
type EpochStore interface {
	Epoch(key string) int64
}

// NewOrigin returns the first origin of a partition restored from its
// checkpoint at offset gen (-1: none), under epoch.
func NewOrigin(key string, epoch, gen int64) *Origin {
	o := &Origin{Key: key, Epoch: epoch, Gen: gen, saved: &atomic.Int64{}}
	o.saved.Store(gen)
	return o
}

// newOrigin returns the first origin of a partition's task, restored from a
// checkpoint at offset restored (-1: none).
func (r *runner) newOrigin(t *task, restored int64) *Origin {
	key := r.p.checkpointKey(t.pid.Source, t.pid.Partition)
	var epoch int64
	if es, ok := r.cfg.Checkpoints.(EpochStore); ok {
		epoch = es.Epoch(key)
	}
	return NewOrigin(key, epoch, restored)
}

// Next returns the origin of the generation after a checkpoint at offset
// (sharing o's record of the checkpoints saved).
func (o *Origin) Next(offset int64) *Origin {
	return &Origin{Key: o.Key, Epoch: o.Epoch, Gen: offset, saved: o.saved}
}

// Saved records that the partition's checkpoint at offset was saved.
func (o *Origin) Saved(offset int64) {
	for {
		cur := o.saved.Load()
		if offset <= cur || o.saved.CompareAndSwap(cur, offset) {
			return
		}
	}
}
