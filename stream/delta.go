package stream

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Incremental checkpoints. A checkpoint that snapshots a partition's whole
// state costs what the state holds, every interval: at 10k events/s with
// minutes of lateness that is megabytes a second, serialised on the
// processing goroutine. Operators whose state is many independent entries
// (a key's window, a buffered event, a remembered id) implement
// DeltaSnapshotter instead: each checkpoint then carries only the entries
// changed since the previous one, and a store that keeps deltas
// (DeltaCheckpointStore, such as checkpoint.Redis) applies them to what it
// holds. The cost of a checkpoint follows the change, not the state.

// KV is one entry of an operator's state: a key (not empty) unique within the operator
// and its encoded value.
type KV struct {
	Key, Value []byte
}

// DeltaPart is the change of one operator's entries since its previous
// checkpoint: Dels are removed, then Puts are set (a key may be in both: it
// was removed and set again). Full means the part replaces every entry the
// store held for the operator.
type DeltaPart struct {
	Full bool
	Puts []KV
	Dels [][]byte
}

// Put adds an entry set (key and value are kept: the caller must not reuse
// them).
func (d *DeltaPart) Put(key, value []byte) { d.Puts = append(d.Puts, KV{key, value}) }

// Del adds an entry removed.
func (d *DeltaPart) Del(key []byte) { d.Dels = append(d.Dels, key) }

// StateDelta is a task's state as a delta checkpoint: Meta holds the
// operators' layout, the state of operators without entries and each
// DeltaSnapshotter's base; Parts holds, in layout order, the entries of each
// DeltaSnapshotter.
type StateDelta struct {
	Meta  []byte
	Parts []DeltaPart
}

// Size returns the bytes of the delta: its meta, keys and values.
func (d *StateDelta) Size() int {
	n := len(d.Meta)
	for _, p := range d.Parts {
		for _, kv := range p.Puts {
			n += len(kv.Key) + len(kv.Value)
		}
		for _, k := range p.Dels {
			n += len(k)
		}
	}
	return n
}

// DeltaSnapshotter is implemented by operators whose state can be
// checkpointed incrementally (see the comment above). The runner calls
// SnapshotDelta at every checkpoint, on the processing goroutine.
type DeltaSnapshotter interface {
	Snapshotter
	// SnapshotDelta adds to d every entry changed since the operator's last
	// SnapshotDelta or RestoreDelta (every entry when d.Full, which the
	// first call after Start always is) and returns the rest of its state
	// (its base: a watermark, counters), which a restore gets back with the
	// entries. The keys and values added must not be reused by the
	// operator.
	SnapshotDelta(d *DeltaPart) (base []byte, err error)
	// RestoreDelta replaces the state with a base and its entries (in no
	// particular order); changes are tracked from there on.
	RestoreDelta(base []byte, entries []KV) error
}

// DeltaCheckpointStore is a CheckpointStore that takes checkpoints whose
// Delta is set (State empty), applies them to the checkpoint it holds, and
// loads a checkpoint as a Delta whose parts are Full.
type DeltaCheckpointStore interface {
	CheckpointStore
	// KeepsDeltas reports whether Save takes delta checkpoints.
	KeepsDeltas() bool
}

// keepsDeltas reports whether s takes delta checkpoints.
func keepsDeltas(s CheckpointStore) bool {
	d, ok := s.(DeltaCheckpointStore)
	return ok && d.KeepsDeltas()
}

// Tags of an operator in a delta checkpoint's meta.
const (
	deltaNone     = 0 // no state
	deltaWhole    = 1 // a Snapshotter's snapshot follows
	deltaEntries  = 2 // a DeltaSnapshotter's base follows; its entries are the next part
	deltaParallel = 3 // a Parallel: its branch count, then each branch
	deltaVersion  = 3 // the meta's version (snapshotTask writes 1 and 2)
)

// snapshotTaskDelta returns a task's state as a delta checkpoint; full
// makes every part Full (the first checkpoint, or after a restore from a
// whole snapshot).
func snapshotTaskDelta(t *task, full bool) (*StateDelta, error) {
	d := &StateDelta{Meta: []byte{deltaVersion}}
	if len(t.lanes) == 0 {
		d.Meta = binary.AppendUvarint(d.Meta, 0)
		return d, d.ops(t.ops, full)
	}
	d.Meta = binary.AppendUvarint(d.Meta, uint64(len(t.lanes)))
	for i, l := range t.lanes {
		if err := d.ops(l.ops, full); err != nil {
			return nil, fmt.Errorf("lane %d: %w", i, err)
		}
	}
	return d, nil
}

func (d *StateDelta) ops(ops []Operator, full bool) error {
	d.Meta = binary.AppendUvarint(d.Meta, uint64(len(ops)))
	for i, op := range ops {
		if err := d.op(op, full); err != nil {
			return fmt.Errorf("operator %d: %w", i, err)
		}
	}
	return nil
}

func (d *StateDelta) op(op Operator, full bool) error {
	switch o := op.(type) {
	case *parallel:
		d.Meta = append(d.Meta, deltaParallel)
		d.Meta = binary.AppendUvarint(d.Meta, uint64(len(o.branches)))
		for i, b := range o.branches {
			if err := d.op(b, full); err != nil {
				return fmt.Errorf("parallel branch %d: %w", i, err)
			}
		}
	case DeltaSnapshotter:
		part := DeltaPart{Full: full}
		base, err := o.SnapshotDelta(&part)
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		d.Meta = appendUvarintBytes(append(d.Meta, deltaEntries), base)
		d.Parts = append(d.Parts, part)
	case Snapshotter:
		data, err := o.Snapshot()
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		d.Meta = appendUvarintBytes(append(d.Meta, deltaWhole), data)
	default:
		d.Meta = append(d.Meta, deltaNone)
	}
	return nil
}

// deltaReader restores a task from a delta checkpoint whose parts are Full.
type deltaReader struct {
	meta  []byte
	parts []DeltaPart
	next  int
}

var errDeltaShort = errors.New("delta checkpoint: meta truncated")

// restoreTaskDelta restores what snapshotTaskDelta wrote (loaded whole).
func restoreTaskDelta(t *task, d *StateDelta) error {
	if len(d.Meta) == 0 || d.Meta[0] != deltaVersion {
		return errors.New("delta checkpoint: unknown version")
	}
	r := &deltaReader{meta: d.Meta[1:], parts: d.Parts}
	lanes, err := r.uv()
	if err != nil {
		return err
	}
	if lanes != uint64(len(t.lanes)) {
		return fmt.Errorf("operator state: snapshot of %d lanes, the pipeline has %d (Parallelism changed?)", lanes, len(t.lanes))
	}
	if len(t.lanes) == 0 {
		err = r.ops(t.ops)
	}
	for i, l := range t.lanes {
		if err = r.ops(l.ops); err != nil {
			err = fmt.Errorf("lane %d: %w", i, err)
			break
		}
	}
	if err != nil {
		return err
	}
	if len(r.meta) != 0 || r.next != len(r.parts) {
		return errors.New("delta checkpoint: trailing state")
	}
	return nil
}

func (r *deltaReader) uv() (uint64, error) {
	v, k := binary.Uvarint(r.meta)
	if k <= 0 {
		return 0, errDeltaShort
	}
	r.meta = r.meta[k:]
	return v, nil
}

func (r *deltaReader) ops(ops []Operator) error {
	n, err := r.uv()
	if err != nil {
		return err
	}
	if n != uint64(len(ops)) {
		return fmt.Errorf("operator state: the checkpoint holds %d operators, the pipeline has %d: it was saved by other operators (the job changed since); run the job as it was until its input is processed, or remove the checkpoint", n, len(ops))
	}
	for i, op := range ops {
		if err := r.op(op); err != nil {
			return fmt.Errorf("operator %d: %w", i, err)
		}
	}
	return nil
}

func (r *deltaReader) op(op Operator) error {
	if len(r.meta) == 0 {
		return errDeltaShort
	}
	tag := r.meta[0]
	r.meta = r.meta[1:]
	other := func(what string) error {
		return fmt.Errorf("the checkpoint holds %s for this operator (%T): it was saved by other operators (the job's order: or windows changed since); run the job as it was until its input is processed, or remove the checkpoint", what, op)
	}
	switch tag {
	case deltaParallel:
		p, ok := op.(*parallel)
		if !ok {
			return other("parallel branches")
		}
		n, err := r.uv()
		if err != nil {
			return err
		}
		if n != uint64(len(p.branches)) {
			return other(fmt.Sprintf("%d parallel branches", n))
		}
		for i, b := range p.branches {
			if err := r.op(b); err != nil {
				return fmt.Errorf("parallel branch %d: %w", i, err)
			}
		}
	case deltaEntries:
		base, rest, err := readUvarintBytes(r.meta)
		if err != nil {
			return err
		}
		r.meta = rest
		o, ok := op.(DeltaSnapshotter)
		if !ok {
			return other("incremental state")
		}
		if r.next >= len(r.parts) {
			return errors.New("delta checkpoint: a part is missing")
		}
		part := r.parts[r.next]
		r.next++
		if err := o.RestoreDelta(base, part.Puts); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	case deltaWhole:
		data, rest, err := readUvarintBytes(r.meta)
		if err != nil {
			return err
		}
		r.meta = rest
		o, ok := op.(Snapshotter)
		if _, incr := op.(DeltaSnapshotter); !ok || incr {
			return other("a whole snapshot")
		}
		if err := o.Restore(data); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	case deltaNone:
		if _, ok := op.(Snapshotter); ok {
			return other("no state")
		}
	default:
		return fmt.Errorf("delta checkpoint: unknown tag %d", tag)
	}
	return nil
}

// ApplyDelta applies a delta part to a store's copy of the entries and
// returns it (a new map when the part is Full).
func ApplyDelta(entries map[string][]byte, p *DeltaPart) map[string][]byte {
	if p.Full || entries == nil {
		entries = make(map[string][]byte, len(p.Puts))
	}
	for _, k := range p.Dels {
		delete(entries, string(k))
	}
	for _, kv := range p.Puts {
		entries[string(kv.Key)] = kv.Value
	}
	return entries
}

// LoadedDelta returns a stored delta checkpoint's state: its meta and every
// part's entries, Full.
func LoadedDelta(meta []byte, parts []map[string][]byte) *StateDelta {
	d := &StateDelta{Meta: meta, Parts: make([]DeltaPart, len(parts))}
	for i, m := range parts {
		d.Parts[i].Full = true
		d.Parts[i].Puts = make([]KV, 0, len(m))
		for k, v := range m {
			d.Parts[i].Puts = append(d.Parts[i].Puts, KV{[]byte(k), v})
		}
	}
	return d
}
