package stream

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// SourceOffset is where a resumable source stands in one of its
// partitions: enough to read on from there after a restart. A file's is
// its path, the lines and bytes read, and the file's identity (device and
// inode), so that a file replaced at the same path is never read from an
// offset that was another file's.
type SourceOffset struct {
	Partition int32  // the partition (a glob's file); a restart renumbers them
	Name      string // the file's path: what a restart matches a partition by
	Line      int64  // lines read: the next line is Line+1 (Position.Offset)
	Byte      int64  // bytes read: where the next line starts
	Dev, Ino  uint64 // the file's identity; both 0 when unknown
}

// ResumableSource is implemented by sources that can start where a
// checkpoint left them: FileSource (a path) and GlobSource. With
// Config.Checkpoints the runner then checkpoints each batch's
// Batch.Resume with the operators' state, and at start, before Connect,
// loads the checkpoint and calls Resume with the offsets it holds.
type ResumableSource interface {
	Source
	// Resume makes the source read each partition on from its offset (a
	// file replaced or truncated since is read from its beginning). It
	// returns the offsets it took, each with the partition now reading
	// it; an offset whose partition is gone (a glob's file deleted) is
	// left out.
	Resume(offsets []SourceOffset) ([]SourceOffset, error)
}

// resumePoint is one partition's entry in Checkpoint.Resume: its offset
// and its clock (the partition's highest event time), which the watermark
// tracker of a task fed by several partitions keeps per partition.
type resumePoint struct {
	off     SourceOffset
	maxTime int64
}

// resumeVersion versions the encoding of Checkpoint.Resume.
const resumeVersion = 1

func encodeResume(pts []resumePoint) []byte {
	if len(pts) == 0 {
		return nil
	}
	b := binary.AppendUvarint([]byte{resumeVersion}, uint64(len(pts)))
	for _, p := range pts {
		b = appendUvarintBytes(b, []byte(p.off.Name))
		b = binary.AppendVarint(b, p.off.Line)
		b = binary.AppendVarint(b, p.off.Byte)
		b = binary.AppendUvarint(b, p.off.Dev)
		b = binary.AppendUvarint(b, p.off.Ino)
		b = binary.AppendVarint(b, p.maxTime)
	}
	return b
}

func decodeResume(b []byte) ([]resumePoint, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] != resumeVersion {
		return nil, errors.New("source offsets: unknown version")
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)) {
		return nil, errShortSnapshot
	}
	b = b[1+k:]
	pts := make([]resumePoint, n)
	for i := range pts {
		name, rest, err := readUvarintBytes(b)
		if err != nil {
			return nil, err
		}
		b = rest
		p := &pts[i]
		p.off.Name = string(name)
		for _, v := range []*int64{&p.off.Line, &p.off.Byte} {
			if *v, k = binary.Varint(b); k <= 0 {
				return nil, errShortSnapshot
			}
			b = b[k:]
		}
		for _, v := range []*uint64{&p.off.Dev, &p.off.Ino} {
			if *v, k = binary.Uvarint(b); k <= 0 {
				return nil, errShortSnapshot
			}
			b = b[k:]
		}
		if p.maxTime, k = binary.Varint(b); k <= 0 {
			return nil, errShortSnapshot
		}
		b = b[k:]
	}
	if len(b) != 0 {
		return nil, errors.New("source offsets: trailing bytes")
	}
	return pts, nil
}

// resumeSources loads the checkpoint of each resumable source (one
// checkpoint per source: a file's partition -1, or a followed glob's
// task, whose files share its operators) and tells the source where to
// resume. The checkpoint is restored into the task that reads the source:
// the single task by restoreSingle, a partition's task by taskFor.
func (r *runner) resumeSources(ctx context.Context) error {
	store := r.cfg.Checkpoints
	if store == nil {
		return nil
	}
	for i, src := range r.p.sources {
		rs, ok := src.(ResumableSource)
		if !ok {
			continue
		}
		key := r.p.checkpointKey(i, -1)
		cp, err := store.Load(ctx, key)
		if err != nil {
			return fmt.Errorf("load checkpoint %s: %w", key, err)
		}
		if cp == nil {
			continue
		}
		pts, err := decodeResume(cp.Resume)
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", key, err)
		}
		offs := make([]SourceOffset, len(pts))
		clocks := make(map[string]int64, len(pts))
		for k, p := range pts {
			offs[k] = p.off
			clocks[p.off.Name] = p.maxTime
		}
		took, err := rs.Resume(offs)
		if err != nil {
			return fmt.Errorf("source %s: resume: %w", src.Name(), err)
		}
		pts = pts[:0]
		for _, o := range took {
			pts = append(pts, resumePoint{off: o, maxTime: clocks[o.Name]})
		}
		pid := PartitionID{Source: i, Partition: -1}
		r.restoreMu.Lock()
		r.restores[pid] = cp
		r.restoreMu.Unlock()
		r.resumed[pid] = pts
		r.cfg.Logger.Info("source resumed from its checkpoint", "checkpoint", key, "files", len(pts))
	}
	return nil
}

// restoreSingle restores the single task of an ordinary pipeline from its
// source's checkpoint, once its operators started: their state, each
// file's clock and the watermark, as taskFor restores a partition's task.
func (r *runner) restoreSingle(now time.Time) error {
	t := r.single
	pid := PartitionID{Source: 0, Partition: -1}
	r.restoreMu.Lock()
	cp := r.restores[pid]
	delete(r.restores, pid)
	r.restoreMu.Unlock()
	if cp == nil {
		return r.singleOrigin(t, nil)
	}
	restore := func() error { return restoreTask(t, cp.State) }
	if cp.Delta != nil {
		restore = func() error { return restoreTaskDelta(t, cp.Delta) }
	}
	if err := restore(); err != nil {
		return fmt.Errorf("restore checkpoint: %w", err)
	}
	t.deltaBase = cp.Delta != nil // the store holds what was restored
	for _, p := range r.resumed[pid] {
		if p.maxTime != MinWatermark {
			t.tracker.SetPartitionMax(PartitionID{Source: 0, Partition: p.off.Partition}, p.maxTime, now)
		}
	}
	t.tracker.RaiseTo(cp.Watermark)
	t.lastWM = t.tracker.Watermark()
	t.nextOffset = cp.Offset
	t.restoreOffsets(r.resumed[pid])
	return r.singleOrigin(t, cp)
}

// restartGap is how far past the lines read the lines of a file that did
// not go on where it stood are numbered (Event.Seq, fileMoved): past
// anything a run could read between two checkpoints.
const restartGap = 1 << 40

// singleOrigin gives the single task of a checkpointed file (the only
// source, not a glob: a glob's files interleave) its Origin, restored from
// cp (nil: none), and numbers its inputs when its operators emit in
// arrival order.
func (r *runner) singleOrigin(t *task, cp *Checkpoint) error {
	if r.cfg.Checkpoints == nil || len(r.p.sources) != 1 {
		return nil
	}
	if _, ok := r.p.sources[0].(*FileSource); !ok {
		return nil
	}
	restored := int64(-1)
	if cp != nil {
		restored = cp.Offset
	}
	t.origin = r.newOrigin(t, restored)
	return t.numberInputs(r.p.sources[0], cp)
}

// numberInputs makes a checkpointed task number its inputs (Event.Seq)
// when its operators (each lane's) all emit in arrival order: a Kafka
// partition by offset, a file (partition -1 of a resumable source) by line
// across its restarts, restored from cp (nil: none). Other sources' (a
// glob's files, renumbered at each start) are not numbered.
func (t *task) numberInputs(src Source, cp *Checkpoint) error {
	ops := t.ops
	if len(t.lanes) > 0 {
		ops = t.lanes[0].ops
	}
	if !arrivalOrdered(ops) {
		return nil
	}
	_, resumable := src.(ResumableSource)
	switch {
	case !resumable:
		t.seq = seqOffsets
		return nil
	case t.pid.Partition != -1:
		return nil
	}
	t.seq = seqLines
	if cp == nil {
		return nil
	}
	// The checkpoint's position is lineBase + lines read + 1 (settle): a
	// file resumed where it was checkpointed gets its lineBase back, and
	// numbers the lines a crash makes it read again as before (fileMoved
	// tells if it did not resume there).
	pts, err := decodeResume(cp.Resume)
	if err != nil {
		return err
	}
	if len(pts) != 1 {
		return fmt.Errorf("checkpoint of a file holds %d offsets", len(pts))
	}
	at := pts[0].off
	t.lineBase, t.lastLine, t.fileAt, t.resumed = cp.Offset-1-at.Line, at.Line, &at, true
	return nil
}

// fileMoved numbers the lines of a file that did not go on from where it
// stood (o, after a batch, against the last offset known): another file
// (replaced, rotated) or a shorter one (truncated) is numbered past
// anything read before it. Right after a restore, past twice as far: the
// crashed run may have read the old file on, and numbered what it read
// past the restart once already; a replay then writes the new file's
// outputs again rather than skip any.
func (t *task) fileMoved(o *SourceOffset) {
	if a := t.fileAt; a != nil && (a.Dev != o.Dev || a.Ino != o.Ino || o.Byte < a.Byte) {
		gap := int64(restartGap)
		if t.resumed {
			gap *= 2
		}
		t.lineBase = max(t.lineBase+t.lastLine+1, t.nextOffset) + gap
	}
	t.resumed = false
	at := *o
	t.fileAt = &at
}

// restoreOffsets starts a task's offsets from those it resumed at: a
// file that sends nothing new keeps its offset in the next checkpoints.
func (t *task) restoreOffsets(pts []resumePoint) {
	for _, p := range pts {
		if t.offsets == nil {
			t.offsets = map[int32]SourceOffset{}
		}
		t.offsets[p.off.Partition] = p.off
	}
}

// resumeOf encodes a task's offsets for its checkpoint, each with its
// partition's clock.
func (t *task) resumeOf() []byte {
	if len(t.offsets) == 0 {
		return nil
	}
	pts := make([]resumePoint, 0, len(t.offsets))
	for part, o := range t.offsets {
		pts = append(pts, resumePoint{off: o, maxTime: t.tracker.PartitionMax(PartitionID{Source: t.pid.Source, Partition: part})})
	}
	slices.SortFunc(pts, func(a, b resumePoint) int { return cmp.Compare(a.off.Partition, b.off.Partition) })
	return encodeResume(pts)
}

// SourceOffsets returns the offsets a checkpoint holds for a resumable
// source (none for a Kafka partition's): where each file stands, for a
// tool or a test to read. Their Partition is -1: a restart numbers a
// glob's files anew, and matches them by Name.
func (c *Checkpoint) SourceOffsets() ([]SourceOffset, error) {
	pts, err := decodeResume(c.Resume)
	if err != nil {
		return nil, err
	}
	out := make([]SourceOffset, len(pts))
	for i, p := range pts {
		out[i] = p.off
		out[i].Partition = -1
	}
	return out, nil
}
