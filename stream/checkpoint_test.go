package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// counter is a stateful operator: it stamps each event with the running
// count of events its partition has seen.
type counter struct{ n int64 }

func (c *counter) Process(_ context.Context, in []Event, out *Emitter) error {
	for _, ev := range in {
		c.n++
		ev.Fields = []Value{Int(c.n)}
		out.Emit(ev)
	}
	return nil
}
func (c *counter) Advance(context.Context, int64, *Emitter) error { return nil }
func (c *counter) Snapshot() ([]byte, error)                      { return binary.AppendVarint(nil, c.n), nil }
func (c *counter) Restore(b []byte) error {
	n, k := binary.Varint(b)
	if k <= 0 {
		return errors.New("bad counter state")
	}
	c.n = n
	return nil
}

type ackLog struct {
	mu    sync.Mutex
	acked map[[2]int64]bool // by partition and first offset of the batch
}

func (a *ackLog) ack(part int32, first int64) AckFunc {
	return func(_ context.Context, err error) error {
		if err == nil {
			a.mu.Lock()
			a.acked[[2]int64{int64(part), first}] = true
			a.mu.Unlock()
		}
		return nil
	}
}

// notifyStore tells on a channel which checkpoint it saved.
type notifyStore struct {
	*MemoryCheckpoints
	saved chan string
}

func (s *notifyStore) Save(ctx context.Context, key string, cp *Checkpoint) error {
	err := s.MemoryCheckpoints.Save(ctx, key, cp)
	s.saved <- key
	return err
}

// connSource tells when the runner connected it (the runner is then live).
type connSource struct {
	*ChanSource
	connected chan struct{}
}

func (s *connSource) Connect(context.Context) error { close(s.connected); return nil }

func partBatch(part int32, from, to int64, acks *ackLog) Batch {
	var evs []Event
	for o := from; o < to; o++ {
		evs = append(evs, Event{Key: "k", Time: o * int64(time.Second), Pos: Position{Source: "topic", Partition: part, Offset: o}})
	}
	return Batch{Events: evs, Ack: acks.ack(part, from)}
}

func partitionedPipeline(store CheckpointStore, src Source, out Sink, clock Clock) *Pipeline {
	p := New("cp", Config{Checkpoints: store, CheckpointInterval: time.Second, Clock: clock, OutOfOrderness: time.Minute})
	return p.From(src).ViaPartitioned(func(PartitionID) ([]Operator, error) { return []Operator{&counter{}}, nil }).To(out)
}

func TestCheckpointRestoreResumesStateAndOffsets(t *testing.T) {
	store := &notifyStore{MemoryCheckpoints: NewMemoryCheckpoints(), saved: make(chan string, 100)}
	clock := NewManualClock(time.Unix(0, 0))
	acks := &ackLog{acked: map[[2]int64]bool{}}

	// Run 1: offsets 0..29 of partitions 0 and 1, then a shutdown.
	src := NewChanSource("topic")
	out := NewCollectSink()
	p := partitionedPipeline(store, src, out, clock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for o := int64(0); o < 30; o += 10 {
		src.C <- partBatch(0, o, o+10, acks)
		src.C <- partBatch(1, o, o+10, acks)
	}
	require.NoError(t, out.WaitFor(context.Background(), 60))
	acks.mu.Lock()
	require.Empty(t, acks.acked, "no ack before a checkpoint covers the batch")
	acks.mu.Unlock()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Len(t, acks.acked, 6, "the shutdown checkpoint releases every ack")
	for _, part := range []int32{0, 1} {
		cp, err := store.Load(context.Background(), "cp/topic/"+string(rune('0'+part)))
		require.NoError(t, err)
		require.Equal(t, int64(30), cp.Offset)
		require.Equal(t, 29*int64(time.Second), cp.MaxTime)
	}

	// Run 2: a new process is assigned the partitions, restores them and
	// goes on from offset 30; the counts continue where they were.
	src2 := &connSource{ChanSource: NewChanSource("topic"), connected: make(chan struct{})}
	out2 := NewCollectSink()
	p2 := partitionedPipeline(store, src2, out2, clock)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { done <- p2.Run(ctx2) }()
	<-src2.connected
	drain := func() {
		for len(store.saved) > 0 {
			<-store.saved
		}
	}
	drain()
	for _, part := range []int32{0, 1} {
		off, ok, err := p2.AssignPartition(ctx2, src2, part)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, int64(30), off)
	}
	src2.C <- partBatch(0, 30, 35, acks)
	src2.C <- partBatch(1, 30, 32, acks)
	require.NoError(t, out2.WaitFor(context.Background(), 7))
	counts := map[int32]int64{}
	for _, ev := range out2.Events() {
		counts[ev.Pos.Partition] = ev.Fields[0].Int()
	}
	require.Equal(t, map[int32]int64{0: 35, 1: 32}, counts)
	// What a restored partition emits carries its origin: the checkpoint it
	// replays from (generation 30, saved).
	var origin0 *Origin
	for _, ev := range out2.Events() {
		require.NotNil(t, ev.Origin)
		require.Equal(t, "cp/topic/"+string(rune('0'+ev.Pos.Partition)), ev.Origin.Key)
		require.EqualValues(t, 30, ev.Origin.Gen)
		require.EqualValues(t, 30, ev.Origin.Committed())
		if ev.Pos.Partition == 0 {
			origin0 = ev.Origin
		}
	}

	// Revoking partition 0 checkpoints it (and releases its acks) at once.
	require.NoError(t, p2.RevokePartition(ctx2, src2, 0))
	cp, err := store.Load(context.Background(), "cp/topic/0")
	require.NoError(t, err)
	require.Equal(t, int64(35), cp.Offset)
	acks.mu.Lock()
	require.True(t, acks.acked[[2]int64{0, 30}])
	require.False(t, acks.acked[[2]int64{1, 30}], "partition 1 is not checkpointed yet")
	acks.mu.Unlock()
	require.Equal(t, "cp/topic/0", <-store.saved)
	require.EqualValues(t, 35, origin0.Committed(), "a replay of partition 0 starts at 35 now")

	// The interval checkpoint covers partition 1 when the clock moves on.
	clock.Advance(2 * time.Second)
	require.Equal(t, "cp/topic/1", <-store.saved)
	cp, err = store.Load(context.Background(), "cp/topic/1")
	require.NoError(t, err)
	require.Equal(t, int64(32), cp.Offset)
	cancel2()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestCheckpointCodecRejectsCorruptBytes(t *testing.T) {
	cp := &Checkpoint{Offset: 42, MaxTime: 7, State: []byte("abc"), SavedAt: time.Unix(5, 0)}
	b, err := cp.MarshalBinary()
	require.NoError(t, err)
	var got Checkpoint
	require.NoError(t, got.UnmarshalBinary(b))
	require.Equal(t, cp.Offset, got.Offset)
	require.Equal(t, cp.State, got.State)
	for i := 0; i < len(b); i++ {
		require.NotPanics(t, func() { _ = new(Checkpoint).UnmarshalBinary(b[:i]) })
		require.Error(t, new(Checkpoint).UnmarshalBinary(b[:i]), "truncated at %d", i)
	}
}

func FuzzCheckpointDecode(f *testing.F) {
	cp := &Checkpoint{Offset: 1, State: []byte{1, 2}}
	b, _ := cp.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Checkpoint
		_ = c.UnmarshalBinary(data)
	})
}

// releasingCounter tells on a channel when the runner releases it.
type releasingCounter struct {
	counter
	part     int32
	released chan int32
}

func (c *releasingCounter) Release() { c.released <- c.part }

// A revoked partition's operators are released after its checkpoint;
// the others are not, not even when the pipeline ends.
func TestRevokedPartitionIsReleased(t *testing.T) {
	store := &notifyStore{MemoryCheckpoints: NewMemoryCheckpoints(), saved: make(chan string, 100)}
	clock := NewManualClock(time.Unix(0, 0))
	acks := &ackLog{acked: map[[2]int64]bool{}}
	released := make(chan int32, 4)
	src := &connSource{ChanSource: NewChanSource("topic"), connected: make(chan struct{})}
	out := NewCollectSink()
	p := New("cp", Config{Checkpoints: store, CheckpointInterval: time.Second, Clock: clock, OutOfOrderness: time.Minute})
	p.From(src).ViaPartitioned(func(pid PartitionID) ([]Operator, error) {
		return []Operator{Parallel(&releasingCounter{part: pid.Partition, released: released})}, nil
	}).To(out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-src.connected
	for _, part := range []int32{0, 1} {
		_, _, err := p.AssignPartition(ctx, src, part)
		require.NoError(t, err)
	}
	src.C <- partBatch(0, 0, 3, acks)
	src.C <- partBatch(1, 0, 3, acks)
	require.NoError(t, out.WaitFor(context.Background(), 6))
	require.NoError(t, p.RevokePartition(ctx, src, 0))
	require.Equal(t, int32(0), <-released)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Empty(t, released, "partition 1 was not revoked")
}
