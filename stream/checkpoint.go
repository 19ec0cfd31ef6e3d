package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Checkpoint is the durable state of one partition's task: the offset to
// resume reading at, the highest event time seen (so the watermark resumes
// where it was) and the serialised state of the task's operators.
type Checkpoint struct {
	Offset  int64     // next offset to read
	MaxTime int64     // highest event time seen, unix ns (MinWatermark if none)
	State   []byte    // the operators' snapshots
	SavedAt time.Time // processing time of the snapshot
	// Watermark is the partition's watermark when saved: after an idle
	// advance (Config.IdleAdvance) it is ahead of MaxTime minus the bound,
	// and a restore keeps it, so that the watermark never goes back and an
	// event found late before the checkpoint is late on its replay too.
	// MinWatermark when unknown (a checkpoint of version 1).
	Watermark int64
	// Delta, for a DeltaCheckpointStore, replaces State: the state as the
	// change since the previous checkpoint of the key this process saved or
	// loaded (see DeltaSnapshotter). A store loads it back with every part
	// Full.
	Delta *StateDelta
	// Resume is where the partitions of a resumable source stand (a
	// file's byte offset, line number and identity; each file of a
	// followed glob's), encoded by the runner: nil for a Kafka partition,
	// whose Offset says it all. Versions 4 and 5 carry it.
	Resume []byte
}

// CheckpointStore keeps checkpoints. Save must replace the checkpoint of a
// key atomically; Load returns nil, nil when there is none.
type CheckpointStore interface {
	Load(ctx context.Context, key string) (*Checkpoint, error)
	Save(ctx context.Context, key string, cp *Checkpoint) error
}

// checkpointVersion 2 adds the watermark; version 1 is still read.
// checkpointDeltaVersion is a delta checkpoint's header: its State is the
// delta's Meta, its parts are stored apart (by a DeltaCheckpointStore).
// Versions 4 and 5 are 2 and 3 followed by Resume (written only when there
// is one, so that a Kafka partition's checkpoint is as before).
const (
	checkpointVersion      = 2
	checkpointDeltaVersion = 3
	checkpointResumeShift  = 2 // version 4 is 2 with Resume, 5 is 3 with Resume
)

// MarshalBinary encodes a checkpoint (versioned). A delta checkpoint's
// encoding holds its Meta, not its parts: the store keeps those.
func (c *Checkpoint) MarshalBinary() ([]byte, error) {
	version, state := byte(checkpointVersion), c.State
	if c.Delta != nil {
		version, state = checkpointDeltaVersion, c.Delta.Meta
	}
	if len(c.Resume) > 0 {
		version += checkpointResumeShift
	}
	b := make([]byte, 0, 40+len(state)+len(c.Resume))
	b = append(b, version)
	b = binary.AppendVarint(b, c.Offset)
	b = binary.AppendVarint(b, c.MaxTime)
	b = binary.AppendVarint(b, c.SavedAt.UnixNano())
	b = binary.AppendVarint(b, c.Watermark)
	b = appendUvarintBytes(b, state)
	if len(c.Resume) > 0 {
		b = appendUvarintBytes(b, c.Resume)
	}
	return b, nil
}

// UnmarshalBinary decodes a checkpoint; corrupt input is an error.
func (c *Checkpoint) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] < 1 || b[0] > checkpointDeltaVersion+checkpointResumeShift {
		return errors.New("checkpoint: unknown version")
	}
	version, resumed := b[0], b[0] > checkpointDeltaVersion
	if resumed {
		version -= checkpointResumeShift
	}
	b = b[1:]
	vals := []int64{0, 0, 0, MinWatermark}
	if version == 1 {
		vals = vals[:3]
	}
	for i := range vals {
		v, n := binary.Varint(b)
		if n <= 0 {
			return errShortSnapshot
		}
		vals[i], b = v, b[n:]
	}
	state, rest, err := readUvarintBytes(b)
	if err != nil {
		return err
	}
	var resume []byte
	if resumed {
		if resume, rest, err = readUvarintBytes(rest); err != nil {
			return err
		}
	}
	if len(rest) != 0 {
		return errors.New("checkpoint: trailing bytes")
	}
	c.Offset, c.MaxTime, c.SavedAt, c.Watermark = vals[0], vals[1], time.Unix(0, vals[2]), MinWatermark
	if version > 1 {
		c.Watermark = vals[3]
	}
	c.State, c.Delta = append([]byte(nil), state...), nil
	if version == checkpointDeltaVersion {
		c.State, c.Delta = nil, &StateDelta{Meta: c.State}
	}
	c.Resume = nil
	if len(resume) > 0 {
		c.Resume = append([]byte(nil), resume...)
	}
	return nil
}

// MemoryCheckpoints is an in-memory CheckpointStore for tests; it keeps
// delta checkpoints (DeltaCheckpointStore).
type MemoryCheckpoints struct {
	mu    sync.Mutex
	c     map[string][]byte
	parts map[string][]map[string][]byte // a delta checkpoint's entries, by key
}

// NewMemoryCheckpoints returns an empty in-memory store.
func NewMemoryCheckpoints() *MemoryCheckpoints {
	return &MemoryCheckpoints{c: map[string][]byte{}, parts: map[string][]map[string][]byte{}}
}

// KeepsDeltas implements DeltaCheckpointStore.
func (m *MemoryCheckpoints) KeepsDeltas() bool { return true }

// Load implements CheckpointStore.
func (m *MemoryCheckpoints) Load(_ context.Context, key string) (*Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.c[key]
	if !ok {
		return nil, nil
	}
	var cp Checkpoint
	if err := cp.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	if cp.Delta != nil {
		cp.Delta = LoadedDelta(cp.Delta.Meta, m.parts[key])
	}
	return &cp, nil
}

// Save implements CheckpointStore.
func (m *MemoryCheckpoints) Save(_ context.Context, key string, cp *Checkpoint) error {
	b, err := cp.MarshalBinary()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cp.Delta == nil {
		delete(m.parts, key)
	} else {
		parts := m.parts[key]
		for i := range cp.Delta.Parts {
			if i == len(parts) {
				parts = append(parts, nil)
			}
			parts[i] = ApplyDelta(parts[i], &cp.Delta.Parts[i])
		}
		m.parts[key] = parts[:len(cp.Delta.Parts)]
	}
	m.c[key] = b
	return nil
}

// checkpointKey names a partition's checkpoint: pipeline/source/partition.
func (p *Pipeline) checkpointKey(src int, partition int32) string {
	return p.name + "/" + p.sources[src].Name() + "/" + strconv.FormatInt(int64(partition), 10)
}

// snapshotOps serialises the snapshots of a chain of operators.
func snapshotOps(ops []Operator) ([]byte, error) {
	buf := []byte{1}
	for i, op := range ops {
		var data []byte
		if s, ok := op.(Snapshotter); ok {
			d, err := s.Snapshot()
			if err != nil {
				return nil, fmt.Errorf("operator %d: snapshot: %w", i, err)
			}
			data = d
		}
		buf = appendUvarintBytes(buf, data)
	}
	return buf, nil
}

// restoreOps restores a chain of operators from snapshotOps's bytes.
func restoreOps(ops []Operator, data []byte) error {
	if len(data) == 0 || data[0] != 1 {
		return errors.New("operator state: unknown version")
	}
	data = data[1:]
	for i, op := range ops {
		part, rest, err := readUvarintBytes(data)
		if err != nil {
			return fmt.Errorf("operator %d: %w", i, err)
		}
		data = rest
		if s, ok := op.(Snapshotter); ok {
			if err := s.Restore(part); err != nil {
				return fmt.Errorf("operator %d: restore: %w", i, err)
			}
		} else if len(part) > 0 {
			return fmt.Errorf("operator %d: state for an operator without state", i)
		}
	}
	if len(data) != 0 {
		return errors.New("operator state: trailing bytes")
	}
	return nil
}

// snapshotTask serialises a task's operators, or its lanes' (version 2:
// the lane count, then each lane's operator state).
func snapshotTask(t *task) ([]byte, error) {
	if len(t.lanes) == 0 {
		return snapshotOps(t.ops)
	}
	buf := binary.AppendUvarint([]byte{2}, uint64(len(t.lanes)))
	for i, l := range t.lanes {
		data, err := snapshotOps(l.ops)
		if err != nil {
			return nil, fmt.Errorf("lane %d: %w", i, err)
		}
		buf = appendUvarintBytes(buf, data)
	}
	return buf, nil
}

// restoreTask restores what snapshotTask wrote; the lane count must match.
func restoreTask(t *task, data []byte) error {
	if len(t.lanes) == 0 {
		return restoreOps(t.ops, data)
	}
	if len(data) == 0 || data[0] != 2 {
		return fmt.Errorf("operator state: not a snapshot of %d lanes (Parallelism changed?)", len(t.lanes))
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || n != uint64(len(t.lanes)) {
		return fmt.Errorf("operator state: snapshot of %d lanes, the pipeline has %d (Parallelism changed?)", n, len(t.lanes))
	}
	data = data[1+k:]
	for i, l := range t.lanes {
		part, rest, err := readUvarintBytes(data)
		if err != nil {
			return fmt.Errorf("lane %d: %w", i, err)
		}
		if err := restoreOps(l.ops, part); err != nil {
			return fmt.Errorf("lane %d: %w", i, err)
		}
		data = rest
	}
	if len(data) != 0 {
		return errors.New("operator state: trailing bytes")
	}
	return nil
}
