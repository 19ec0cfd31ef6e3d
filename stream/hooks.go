package stream

import (
	"context"
	"fmt"
)

func (p *Pipeline) sourceIndex(src Source) (int, error) {
	for i, s := range p.sources {
		if s == src {
			return i, nil
		}
	}
	return 0, fmt.Errorf("pipeline %s: source %s is not one of its sources", p.name, src.Name())
}

// AssignPartition is the hook a partitioned source calls when a partition is
// assigned to this consumer, before reading it: it loads the partition's
// checkpoint, which the partition's task restores before its first event,
// and returns the offset to resume at (ok false: no checkpoint, start where
// the source would).
func (p *Pipeline) AssignPartition(ctx context.Context, src Source, partition int32) (offset int64, ok bool, err error) {
	r := p.runner.Load()
	if r == nil {
		return 0, false, errNotRunning
	}
	i, err := p.sourceIndex(src)
	if err != nil {
		return 0, false, err
	}
	if p.cfg.CountSources {
		p.registerSource(i, partition, p.cfg.Clock.Now())
	}
	if p.cfg.Checkpoints == nil {
		return 0, false, nil
	}
	key := p.checkpointKey(i, partition)
	cp, err := p.cfg.Checkpoints.Load(ctx, key)
	if err != nil {
		return 0, false, fmt.Errorf("load checkpoint %s: %w", key, err)
	}
	if cp == nil {
		return 0, false, nil
	}
	r.restoreMu.Lock()
	r.restores[PartitionID{Source: i, Partition: partition}] = cp
	r.restoreMu.Unlock()
	p.cfg.Logger.Info("partition assigned", "checkpoint", key, "offset", cp.Offset)
	return cp.Offset, true, nil
}

// RevokePartition is the hook a partitioned source calls when a partition
// is taken away, after its in-flight batches were settled (as
// stream/kafka's OnRevoke is): the partition's
// task flushes, saves a last checkpoint and is dropped. It returns once the
// checkpoint is saved.
func (p *Pipeline) RevokePartition(ctx context.Context, src Source, partition int32) error {
	r := p.runner.Load()
	if r == nil {
		return nil // not running: the last checkpoints were taken at shutdown
	}
	i, err := p.sourceIndex(src)
	if err != nil {
		return err
	}
	req := &revokeReq{pid: PartitionID{Source: i, Partition: partition}, done: make(chan error, 1)}
	select {
	case r.ctrl <- req:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
