package stream

import (
	"context"
	"fmt"
	"time"
)

// process is the runner's processing loop: batches, ticks, end of input and
// partition revocations, in order.
func (r *runner) process(ctx context.Context, out chan<- *outMsg) error {
	tick, stopTick := r.cfg.Clock.NewTicker(r.cfg.TickInterval)
	defer stopTick()
	eofs := 0
	for {
		select {
		case m, ok := <-r.in:
			if !ok {
				if eofs == len(r.p.sources) && ctx.Err() == nil {
					return r.finish(ctx, out, true)
				}
				return r.finish(ctx, out, false)
			}
			var err error
			switch {
			case m.eof:
				eofs++
				err = r.endOfSource(ctx, m.src, out)
			default:
				err = r.batch(ctx, m, out)
				if err != nil && m.batch.Ack != nil {
					_ = m.batch.Ack(ctx, err)
				}
			}
			if err != nil {
				return err
			}
		case req := <-r.ctrl:
			if err := r.revoke(ctx, req, out); err != nil {
				return err
			}
		case <-tick:
			if err := r.tick(ctx, out); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

func (r *runner) getMsg(ctx context.Context) (*outMsg, error) {
	select {
	case m := <-r.free:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *runner) send(ctx context.Context, msg *outMsg, out chan<- *outMsg) error {
	if msg.empty() {
		msg.reset()
		r.free <- msg // never blocks: free has room for every message
		return nil
	}
	select {
	case out <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// eachTask calls fn for the single task or every partition task.
func (r *runner) eachTask(fn func(t *task) error) error {
	if r.single != nil {
		return fn(r.single)
	}
	for _, t := range r.tasks {
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

// taskFor returns the task of a partition, creating (and restoring) it.
func (r *runner) taskFor(ctx context.Context, pid PartitionID, now time.Time) (*task, error) {
	if r.single != nil {
		return r.single, nil
	}
	if t := r.tasks[pid]; t != nil {
		return t, nil
	}
	env := r.env
	build := func() ([]Operator, error) {
		ops, err := r.p.factory(pid)
		if err != nil {
			return nil, fmt.Errorf("partition %d/%d: operators: %w", pid.Source, pid.Partition, err)
		}
		return ops, startOps(ctx, ops, env)
	}
	t := newTask(pid, nil, r.newTracker(0))
	if r.cfg.Parallelism > 1 {
		for i := 0; i < r.cfg.Parallelism; i++ {
			ops, err := build()
			if err != nil {
				return nil, err
			}
			t.lanes = append(t.lanes, newTask(pid, ops, nil))
		}
	} else {
		ops, err := build()
		if err != nil {
			return nil, err
		}
		t.ops, t.ems = ops, make([]Emitter, len(ops))
	}
	t.lastCP = now
	r.restoreMu.Lock()
	cp := r.restores[pid]
	delete(r.restores, pid)
	r.restoreMu.Unlock()
	if cp != nil {
		restore := func() error { return restoreTask(t, cp.State) }
		if cp.Delta != nil {
			restore = func() error { return restoreTaskDelta(t, cp.Delta) }
		}
		if err := restore(); err != nil {
			return nil, fmt.Errorf("partition %d/%d: restore checkpoint: %w", pid.Source, pid.Partition, err)
		}
		if cp.MaxTime != MinWatermark {
			t.tracker.SetPartitionMax(pid, cp.MaxTime, now)
			t.tracker.RaiseTo(cp.Watermark) // an idle advance's, kept
			t.lastWM = t.tracker.Watermark()
			for _, l := range t.lanes {
				l.lastWM = t.lastWM
			}
		}
		t.nextOffset = cp.Offset
		t.deltaBase = cp.Delta != nil // the store holds what was restored
		t.restoreOffsets(r.resumed[pid])
		delete(r.resumed, pid)
	}
	if r.cfg.Checkpoints != nil {
		restored := int64(-1)
		if cp != nil {
			restored = cp.Offset
		}
		t.origin = r.newOrigin(t, restored)
		if err := t.numberInputs(r.p.sources[pid.Source], cp); err != nil {
			return nil, fmt.Errorf("partition %d/%d: %w", pid.Source, pid.Partition, err)
		}
	}
	r.tasks[pid] = t
	return t, nil
}

// batch handles one source batch: dead letters, then each partition's run
// of events through its task, then checkpoints that are due.
func (r *runner) batch(ctx context.Context, m inMsg, out chan<- *outMsg) error {
	if len(m.batch.Events) > 0 {
		r.unread.Add(-1)
	}
	msg, err := r.getMsg(ctx)
	if err != nil {
		return err
	}
	st := &r.p.stats
	st.batches.Add(1)
	now := r.cfg.Clock.Now()
	for _, rej := range m.batch.Rejects {
		msg.dead = append(msg.dead, DeadLetterEvent(rej))
		if r.p.deadLetter == nil {
			r.cfg.Logger.Warn("dead letter", "position", rej.Pos.String(), "reason", rej.Reason)
		}
	}
	st.dead.Add(int64(len(m.batch.Rejects)))
	if n := len(m.batch.Late); n > 0 {
		msg.late = append(msg.late, m.batch.Late...)
		for i := range n {
			wm := MinWatermark
			if i < len(m.batch.LateWM) {
				wm = m.batch.LateWM[i]
			}
			msg.lateWM = append(msg.lateWM, wm)
		}
		st.in.Add(int64(n))
		st.late.Add(int64(n))
	}
	evs := m.batch.Events
	st.in.Add(int64(len(evs)))
	for _, part := range m.batch.NewPartitions {
		r.announced(PartitionID{Source: m.src, Partition: part}, now)
	}
	count := r.cfg.CountSources
	if count {
		for i := 0; i < len(m.batch.Late); {
			j := i + 1
			for j < len(m.batch.Late) && m.batch.Late[j].Pos.Partition == m.batch.Late[i].Pos.Partition {
				j++
			}
			r.countSource(PartitionID{Source: m.src, Partition: m.batch.Late[i].Pos.Partition}, j-i, now)
			i = j
		}
	}

	var last *task
	recycle := true // no task hands the batch's events on as they are
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].Pos.Partition == evs[i].Pos.Partition {
			j++
		}
		if count {
			r.countSource(PartitionID{Source: m.src, Partition: evs[i].Pos.Partition}, j-i, now)
		}
		t, err := r.taskFor(ctx, PartitionID{Source: m.src, Partition: evs[i].Pos.Partition}, now)
		if err != nil {
			return err
		}
		if o := m.batch.Resume; o != nil && t.seq == seqLines {
			t.fileMoved(o)
		}
		recycle = recycle && (len(t.ops) > 0 || len(t.lanes) > 0)
		if err := r.feed(ctx, t, m.src, evs[i:j], msg, now); err != nil {
			return err
		}
		last = t
		i = j
	}
	if err := r.settle(ctx, m, last, msg, now); err != nil {
		return err
	}
	if er, ok := r.p.sources[m.src].(EventRecycler); ok && recycle && len(evs) > 0 {
		er.RecycleEvents(evs)
	}
	// Published together (the newest time with the watermark), so that a
	// reader's lag is never inflated by a batch half done.
	r.publishWatermark()
	r.govern(now)
	return r.send(ctx, msg, out)
}

// announced registers a partition a source starts reading (a file that
// appeared): the single task's watermark waits for it, and it is counted.
// A partitioned pipeline starts the partition's own watermark at its first
// event.
func (r *runner) announced(pid PartitionID, now time.Time) {
	if r.single != nil {
		r.single.tracker.Expect(pid, now)
	}
	if r.cfg.CountSources {
		r.p.registerSource(pid.Source, pid.Partition, now)
	}
}

// settle records where a task stands after a batch (a partitioned task,
// or the single task of a resumable source) and holds the batch's ack
// until the task's next checkpoint; without checkpoints the ack goes with
// the batch's output.
func (r *runner) settle(ctx context.Context, m inMsg, t *task, msg *outMsg, now time.Time) error {
	store := r.cfg.Checkpoints
	if store == nil {
		if m.batch.Ack != nil {
			msg.acks = append(msg.acks, m.batch.Ack)
		}
		return nil
	}
	next, part := int64(-1), int32(0)
	for _, ev := range m.batch.Events {
		if ev.Pos.Offset >= next {
			next, part = ev.Pos.Offset+1, ev.Pos.Partition
		}
	}
	for _, rej := range m.batch.Rejects {
		if rej.Pos.Offset >= next {
			next, part = rej.Pos.Offset+1, rej.Pos.Partition
		}
	}
	if next < 0 { // an empty batch
		if m.batch.Ack != nil {
			msg.acks = append(msg.acks, m.batch.Ack)
		}
		return nil
	}
	if t == nil || t.pid.Partition != part {
		var err error
		if t, err = r.taskFor(ctx, PartitionID{Source: m.src, Partition: part}, now); err != nil {
			return err
		}
	}
	for _, ev := range m.batch.Events {
		if ev.Pos.Partition != part {
			return fmt.Errorf("source %s: a batch mixes partitions %d and %d; checkpointing needs one partition per batch", r.p.sources[m.src].Name(), part, ev.Pos.Partition)
		}
	}
	if o := m.batch.Resume; o != nil && t.seq == seqLines {
		// The position is the next line's number, counted across the
		// file's restarts (task.seqOf): a restore finds lineBase again
		// from it and the lines read the file resumes at.
		if o.Line < t.lastLine {
			t.fileRestarted()
		}
		t.lastLine = o.Line
		next = t.lineBase + o.Line + 1
	}
	if next > t.nextOffset {
		t.nextOffset = next
	}
	if o := m.batch.Resume; o != nil {
		if t.offsets == nil {
			t.offsets = map[int32]SourceOffset{}
		}
		t.offsets[o.Partition] = *o
	}
	t.dirty = true
	if m.batch.Ack != nil {
		t.acks = append(t.acks, m.batch.Ack)
	}
	if now.Sub(t.lastCP) >= r.cfg.CheckpointInterval {
		return r.checkpoint(t, msg, now, nil)
	}
	return nil
}

// publishWatermark stores the pipeline watermark for Stats: the single
// task's, or the lowest of the partition tasks'.
func (r *runner) publishWatermark() {
	if r.single != nil {
		r.p.stats.wm.Store(r.single.lastWM)
		r.p.stats.maxTime.Store(r.single.tracker.MaxClock())
		return
	}
	min, max := MaxWatermark, MinWatermark
	for _, t := range r.tasks {
		if t.lastWM < min {
			min = t.lastWM
		}
		if c := t.tracker.MaxClock(); c > max {
			max = c
		}
	}
	r.p.stats.maxTime.Store(max)
	if len(r.tasks) == 0 {
		min = MinWatermark
	}
	r.p.stats.wm.Store(min)
}

// newTracker returns a watermark tracker of the pipeline's bound, with its
// outlier guard (none in processing-time mode).
func (r *runner) newTracker(idle time.Duration) *WatermarkTracker {
	w := NewWatermarkTracker(r.cfg.OutOfOrderness, idle)
	if !r.cfg.ProcessingTime {
		w.SetOutlierGuard(r.cfg.MaxAhead, r.cfg.AheadConfirm)
		w.SetIdleAdvance(r.cfg.IdleAdvance)
	}
	return w
}

// tick re-evaluates watermarks (idle partitions, processing time) and takes
// the checkpoints that are due.
func (r *runner) tick(ctx context.Context, out chan<- *outMsg) error {
	msg, err := r.getMsg(ctx)
	if err != nil {
		return err
	}
	now := r.cfg.Clock.Now()
	waiting := r.unread.Load() > 0
	err = r.eachTask(func(t *task) error {
		t.tracker.InputWaiting(waiting)
		if r.cfg.ProcessingTime {
			t.tracker.Observe(PartitionID{Source: -1, Partition: -1}, now.UnixNano()-1, now)
		}
		if err := r.step(ctx, t, nil, t.tracker.Update(now), msg); err != nil {
			return err
		}
		if r.cfg.Checkpoints != nil && (t.dirty || len(t.acks) > 0) && now.Sub(t.lastCP) >= r.cfg.CheckpointInterval {
			return r.checkpoint(t, msg, now, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.publishWatermark()
	return r.send(ctx, msg, out)
}

// endOfSource marks a source's partitions finished.
func (r *runner) endOfSource(ctx context.Context, src int, out chan<- *outMsg) error {
	msg, err := r.getMsg(ctx)
	if err != nil {
		return err
	}
	now := r.cfg.Clock.Now()
	r.p.srcCounts.finish(src, nil)
	err = r.eachTask(func(t *task) error {
		if r.single == nil && t.pid.Source != src {
			return nil
		}
		t.tracker.Finish(src)
		return r.step(ctx, t, nil, t.tracker.Update(now), msg)
	})
	if err != nil {
		return err
	}
	r.publishWatermark()
	return r.send(ctx, msg, out)
}

// finish ends processing: at the end of all input every task is advanced to
// MaxWatermark (everything pending fires); at a stop before it, without
// checkpoints and with IdleAdvance, as a tick would (an input quiet for
// IdleAdvance decides what is due on the wall clock); then, with
// checkpoints, every task takes a last one (its pending state with it).
func (r *runner) finish(ctx context.Context, out chan<- *outMsg, allDone bool) error {
	if ctx.Err() != nil {
		return nil
	}
	msg, err := r.getMsg(ctx)
	if err != nil {
		return err
	}
	now := r.cfg.Clock.Now()
	if allDone && r.single == nil {
		// A partition restored from a checkpoint but sent no new event has
		// no task yet: make it, so that what its state holds fires too.
		r.restoreMu.Lock()
		pending := make([]PartitionID, 0, len(r.restores))
		for pid := range r.restores {
			pending = append(pending, pid)
		}
		r.restoreMu.Unlock()
		for _, pid := range pending {
			if _, err := r.taskFor(ctx, pid, now); err != nil {
				return err
			}
		}
	}
	err = r.eachTask(func(t *task) error {
		switch {
		case allDone:
			t.tracker.AllDone()
			if err := r.step(ctx, t, nil, MaxWatermark, msg); err != nil {
				return err
			}
		case r.cfg.IdleAdvance > 0 && r.cfg.Checkpoints == nil && !r.cfg.ProcessingTime:
			// A live run stopped with nothing checkpointed, its input quiet
			// for IdleAdvance: what is due on the wall clock is decided now
			// rather than after a restart has read the input again. (A
			// stop amid traffic decides nothing early: events in transit
			// within the lateness may still come.)
			t.tracker.InputWaiting(false)
			if err := r.step(ctx, t, nil, t.tracker.Update(now), msg); err != nil {
				return err
			}
		}
		if r.cfg.Checkpoints != nil && r.firstErr() == nil {
			return r.checkpoint(t, msg, now, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.publishWatermark()
	return r.send(ctx, msg, out)
}

// revoke checkpoints a partition's task and drops it.
func (r *runner) revoke(ctx context.Context, req *revokeReq, out chan<- *outMsg) error {
	r.p.srcCounts.finish(req.pid.Source, &req.pid.Partition)
	if r.single != nil {
		// One shared chain: the partition only stops holding the watermark,
		// which may move at once.
		r.single.tracker.Remove(req.pid)
		req.done <- nil
		return r.tick(ctx, out)
	}
	t := r.tasks[req.pid]
	if t == nil {
		req.done <- nil
		return nil
	}
	msg, err := r.getMsg(ctx)
	if err != nil {
		req.done <- err
		return err
	}
	delete(r.tasks, req.pid)
	defer t.release()
	if r.cfg.Checkpoints != nil {
		if err := r.checkpoint(t, msg, r.cfg.Clock.Now(), req.done); err != nil {
			req.done <- err
			return err
		}
	} else {
		msg.acks = append(msg.acks, t.acks...)
		req.done <- nil
	}
	r.publishWatermark()
	return r.send(ctx, msg, out)
}
