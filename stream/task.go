package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// task is one chain of operators with its watermark. An ordinary pipeline
// has one task fed by every partition; a partitioned pipeline (ViaPartitioned)
// has one task per source partition, each with its own operators, state,
// watermark and checkpoint, so that state follows its partition.
type task struct {
	pid     PartitionID
	ops     []Operator
	ems     []Emitter
	tracker *WatermarkTracker
	lastWM  int64 // the watermark the operators were last advanced to

	outliers    int64     // the tracker's outlier count last added to the stats
	aheadLogged time.Time // when an event held ahead was last logged

	// checkpointing (a CheckpointStore: partitioned pipelines, or the
	// single task of a followed file or glob)
	nextOffset int64                  // next offset to read, -1 before any batch
	offsets    map[int32]SourceOffset // where a resumable source's partitions stand
	acks       []AckFunc              // acks held until the next checkpoint
	lastCP     time.Time
	deltaBase  bool    // the store holds this task's entries: checkpoint deltas
	origin     *Origin // stamped on what the task emits; nil without checkpoints
	dirty      bool
	// seq numbers the inputs (Event.Seq): seqOffsets by their Kafka offset,
	// seqLines by their file line plus lineBase, which grows past every
	// number given when the file restarts (lastLine: the last line seen).
	seq      seqMode
	lineBase int64
	lastLine int64
	fileAt   *SourceOffset // where the file stood after the last batch (fileMoved)
	resumed  bool          // restored, and no batch read since

	// lanes split a partition's events by key across copies of the
	// operators, run concurrently (Config.Parallelism > 1). A lane is a task
	// of its own; the partition's task then has no operators.
	lanes []*task
	in    []Event // a lane's share of a batch
	out   outMsg  // a lane's output of a batch
}

// seqMode is how a task numbers its inputs (Event.Seq).
type seqMode uint8

const (
	seqNone    seqMode = iota
	seqOffsets         // a partition's offsets (Kafka): Pos.Offset + 1
	seqLines           // a file's lines, counted across its restarts
)

// seqOf returns ev's Event.Seq in t.
func (t *task) seqOf(ev *Event) int64 {
	if t.seq == seqOffsets {
		return ev.Pos.Offset + 1
	}
	if ev.Pos.Offset <= t.lastLine {
		t.fileRestarted()
	}
	t.lastLine = ev.Pos.Offset
	return t.lineBase + ev.Pos.Offset
}

// fileRestarted numbers the lines of a file that restarted (replaced or
// truncated: its line numbers went back) past every number given, and past
// the checkpointed position (nextOffset), which stays increasing.
func (t *task) fileRestarted() {
	t.lineBase = max(t.lineBase+t.lastLine+1, t.nextOffset)
}

func newTask(pid PartitionID, ops []Operator, tracker *WatermarkTracker) *task {
	return &task{pid: pid, ops: ops, ems: make([]Emitter, len(ops)), tracker: tracker, lastWM: MinWatermark, nextOffset: -1}
}

// feed pushes one partition's run of events through the task: each event is
// judged against the watermark as it stands just before it (so lateness does
// not depend on batching), late ones go to the late output, and the rest are
// processed; the operators are advanced when the watermark moved. An event
// behind the watermark but within the allowed lateness first brings the
// operators up to the watermark, so that they see it as late too.
func (r *runner) feed(ctx context.Context, t *task, src int, evs []Event, msg *outMsg, now time.Time) error {
	allowed := int64(r.cfg.AllowedLateness)
	procTime := now.UnixNano()
	kept := evs[:0]
	start := 0
	for i := range evs {
		ev := &evs[i]
		if r.cfg.ProcessingTime {
			ev.Time = procTime
		}
		if t.seq != seqNone {
			ev.Seq = t.seqOf(ev)
		}
		wm := t.tracker.Watermark()
		if wm != MinWatermark && ev.Time < wm {
			if ev.Time < wm-allowed {
				t.tracker.Observe(PartitionID{Source: src, Partition: ev.Pos.Partition}, ev.Time, now)
				msg.late = append(msg.late, *ev)
				msg.lateWM = append(msg.lateWM, wm)
				r.p.stats.late.Add(1)
				continue
			}
			if wm > t.lastWM {
				if err := r.step(ctx, t, kept, wm, msg); err != nil {
					return err
				}
				start = i
				kept = evs[start:start]
			}
		}
		if t.tracker.Observe(PartitionID{Source: src, Partition: ev.Pos.Partition}, ev.Time, now) {
			r.heldAhead(t, src, ev, now)
		}
		if n := len(kept); start+n == i {
			kept = kept[:n+1] // in place already: no copy
		} else {
			kept = append(kept, *ev)
		}
	}
	if o := t.tracker.OutlierCounts().Outliers; o != t.outliers {
		r.p.stats.outliers.Add(o - t.outliers)
		t.outliers = o
	}
	return r.step(ctx, t, kept, t.tracker.Update(now), msg)
}

// heldAhead counts an event held out of the watermark for being far ahead
// of its partition's event time, and logs it (the first of a partition,
// then at most one a minute).
func (r *runner) heldAhead(t *task, src int, ev *Event, now time.Time) {
	r.p.stats.ahead.Add(1)
	clock := t.tracker.PartitionMax(PartitionID{Source: src, Partition: ev.Pos.Partition})
	if !t.aheadLogged.IsZero() && now.Sub(t.aheadLogged) < time.Minute {
		return
	}
	t.aheadLogged = now
	r.cfg.Logger.Warn("event far ahead of its partition's event time: processed, but held out of the watermark until more data confirms it",
		"source", ev.Pos.Source, "partition", ev.Pos.Partition, "offset", ev.Pos.Offset,
		"event_time", time.Unix(0, ev.Time).UTC(), "partition_time", time.Unix(0, clock).UTC(),
		"max_ahead", r.cfg.MaxAhead, "confirm", r.cfg.AheadConfirm)
}

// step runs events through the operators and advances them to wm if it is
// past where they are. The last operator's output is appended to msg,
// stamped with the task's origin.
func (r *runner) step(ctx context.Context, t *task, evs []Event, wm int64, msg *outMsg) error {
	n := len(msg.events)
	err := r.stepOps(ctx, t, evs, wm, msg)
	if t.origin != nil {
		for i := n; i < len(msg.events); i++ {
			msg.events[i].Origin = t.origin
		}
	}
	return err
}

func (r *runner) stepOps(ctx context.Context, t *task, evs []Event, wm int64, msg *outMsg) error {
	if len(t.lanes) > 0 {
		return r.stepLanes(ctx, t, evs, wm, msg)
	}
	advance := wm > t.lastWM
	if advance {
		t.lastWM = wm
	}
	if len(evs) == 0 && !advance {
		return nil
	}
	t.dirty = true
	if len(t.ops) == 0 {
		if len(msg.events) == 0 {
			msg.events = evs[:len(evs):len(evs)] // hand the batch on as is
		} else {
			msg.events = append(msg.events, evs...)
		}
		return nil
	}
	last := len(t.ops) - 1
	for i, op := range t.ops {
		em := &t.ems[i]
		em.Reset()
		if i == last {
			em.events, msg.events = msg.events, nil // append straight to the message
		}
		if len(evs) > 0 {
			if err := protect(fmt.Sprintf("operator %d", i), func() error { return op.Process(ctx, evs, em) }); err != nil {
				msg.events = em.events
				return fmt.Errorf("operator %d: %w", i, err)
			}
		}
		if advance {
			if err := protect(fmt.Sprintf("operator %d", i), func() error { return op.Advance(ctx, wm, em) }); err != nil {
				msg.events = em.events
				return fmt.Errorf("operator %d: advance: %w", i, err)
			}
		}
		if len(em.late) > 0 {
			msg.late = append(msg.late, em.late...)
			for range em.late {
				msg.lateWM = append(msg.lateWM, t.lastWM)
			}
			r.p.stats.late.Add(int64(len(em.late)))
		}
		for _, rej := range em.dead {
			msg.dead = append(msg.dead, DeadLetterEvent(rej))
		}
		r.p.stats.dead.Add(int64(len(em.dead)))
		if i == last {
			msg.events, em.events = em.events, nil
		} else {
			evs = em.events
		}
	}
	return nil
}

// checkpoint snapshots a task and queues the checkpoint on msg; the writer
// saves it once msg's events are written, then releases the acks it holds.
func (r *runner) checkpoint(t *task, msg *outMsg, now time.Time, done chan error) error {
	t.lastCP = now
	if t.nextOffset < 0 {
		if done != nil {
			msg.cps = append(msg.cps, cpWrite{done: done})
		}
		return nil
	}
	cp := &Checkpoint{Offset: t.nextOffset, MaxTime: t.tracker.PartitionMax(t.pid), SavedAt: now,
		Watermark: t.tracker.Watermark(), Resume: t.resumeOf()}
	var err error
	if keepsDeltas(r.cfg.Checkpoints) {
		// The store holds the entries of the last checkpoint: only what
		// changed since goes (all of it the first time).
		cp.Delta, err = snapshotTaskDelta(t, !t.deltaBase)
		t.deltaBase = err == nil
	} else {
		cp.State, err = snapshotTask(t)
	}
	if err != nil {
		return err
	}
	msg.cps = append(msg.cps, cpWrite{key: r.p.checkpointKey(t.pid.Source, t.pid.Partition), cp: cp, acks: t.acks, done: done,
		origin: t.origin})
	if t.origin != nil {
		t.origin = t.origin.Next(cp.Offset) // what follows is replayed from cp if it is the last saved
	}
	t.acks, t.dirty = nil, false
	return nil
}

// stepLanes splits events by key across the task's lanes, steps the lanes
// concurrently, and gathers their output in lane order.
func (r *runner) stepLanes(ctx context.Context, t *task, evs []Event, wm int64, msg *outMsg) error {
	if len(evs) == 0 && wm <= t.lastWM {
		return nil
	}
	t.dirty = true
	if wm > t.lastWM {
		t.lastWM = wm
	}
	n := uint32(len(t.lanes))
	for _, l := range t.lanes {
		l.in = l.in[:0]
	}
	for i := range evs {
		l := t.lanes[laneOf(evs[i].Key, n)]
		l.in = append(l.in, evs[i])
	}
	errs := make([]error, len(t.lanes))
	var wg sync.WaitGroup
	for i, l := range t.lanes[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = r.step(ctx, l, l.in, wm, &l.out)
		}()
	}
	errs[0] = r.step(ctx, t.lanes[0], t.lanes[0].in, wm, &t.lanes[0].out)
	wg.Wait()
	from := len(msg.events)
	for _, l := range t.lanes {
		msg.events = append(msg.events, l.out.events...)
		msg.late = append(msg.late, l.out.late...)
		msg.lateWM = append(msg.lateWM, l.out.lateWM...)
		msg.dead = append(msg.dead, l.out.dead...)
		l.out.reset()
	}
	if t.seq != seqNone {
		// Each lane emitted in its inputs' order: merged by Seq, the
		// outputs are in the partition's input order again (the outputs
		// of one input come from one lane, in their order).
		slices.SortStableFunc(msg.events[from:], func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return errors.Join(errs...)
}

// laneOf maps a key to one of n lanes (FNV-1a): a key always goes to the
// same lane, so per-key state stays in one lane.
func laneOf(key string, n uint32) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h % n
}

// release tells the task's operators (and its lanes') they are dropped.
func (t *task) release() {
	for _, op := range t.ops {
		if rl, ok := op.(Releaser); ok {
			rl.Release()
		}
	}
	for _, l := range t.lanes {
		l.release()
	}
}
