package checkpoint

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/stretchr/testify/require"
)

func TestRedisStoreRoundTrip(t *testing.T) {
	rdb, prefix := testredis.Client(t, 5)
	ctx := context.Background()
	s := NewRedis(rdb, prefix)
	cp, err := s.Load(ctx, "p/t/0")
	require.NoError(t, err)
	require.Nil(t, cp)
	want := &stream.Checkpoint{Offset: 12, MaxTime: 99, State: []byte{1, 2, 3}, SavedAt: time.Unix(10, 0)}
	require.NoError(t, s.Save(ctx, "p/t/0", want))
	got, err := s.Load(ctx, "p/t/0")
	require.NoError(t, err)
	require.Equal(t, want.Offset, got.Offset)
	require.Equal(t, want.MaxTime, got.MaxTime)
	require.Equal(t, want.State, got.State)
	keys, err := s.Keys(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"p/t/0"}, keys)
	require.NoError(t, rdb.Set(ctx, prefix+"{p/t/0}", "\x00garbage", 0).Err())
	_, err = s.Load(ctx, "p/t/0")
	require.ErrorContains(t, err, "checkpoint "+prefix+"{p/t/0}: ") // named, not a panic
}

// A delta checkpoint: each save applies only the entries changed; a load
// returns them all. Big saves are staged and applied in one call.
func TestRedisStoreDeltas(t *testing.T) {
	rdb, prefix := testredis.Client(t, 5)
	ctx := context.Background()
	s := NewRedis(rdb, prefix)
	_, err := s.Load(ctx, "p/t/2")
	require.NoError(t, err)
	want := []map[string][]byte{{}, {}}
	save := func(offset int64, parts ...stream.DeltaPart) {
		t.Helper()
		for i := range parts {
			want[i] = stream.ApplyDelta(want[i], &parts[i])
		}
		require.NoError(t, s.Save(ctx, "p/t/2", &stream.Checkpoint{Offset: offset, Delta: &stream.StateDelta{Meta: []byte{3, 7}, Parts: parts}}))
		got, err := s.Load(ctx, "p/t/2") // takes the next epoch: s stays the owner
		require.NoError(t, err)
		require.Equal(t, offset, got.Offset)
		require.Equal(t, []byte{3, 7}, got.Delta.Meta)
		require.Len(t, got.Delta.Parts, len(parts))
		for i, p := range got.Delta.Parts {
			m := map[string][]byte{}
			for _, kv := range p.Puts {
				m[string(kv.Key)] = kv.Value
			}
			require.Equal(t, want[i], m, "part %d after offset %d", i, offset)
		}
	}
	kv := func(k, v string) stream.KV { return stream.KV{Key: []byte(k), Value: []byte(v)} }
	save(1, stream.DeltaPart{Full: true, Puts: []stream.KV{kv("a", "1"), kv("b", "2")}}, stream.DeltaPart{Full: true})
	save(2, stream.DeltaPart{Puts: []stream.KV{kv("c", "3"), kv("a", "4")}, Dels: [][]byte{[]byte("b")}}, stream.DeltaPart{Puts: []stream.KV{kv("x", "")}})
	// Removed and set again in one delta: set.
	save(3, stream.DeltaPart{Puts: []stream.KV{kv("b", "5")}, Dels: [][]byte{[]byte("b"), []byte("c")}}, stream.DeltaPart{})
	// A part replaced whole (Full) while the other goes on in segments.
	big := stream.DeltaPart{Full: true}
	for i := range 3000 {
		big.Puts = append(big.Puts, kv(fmt.Sprint("k", i), fmt.Sprint(i)))
	}
	save(4, big, stream.DeltaPart{Puts: []stream.KV{kv("y", "1")}})
	// Segments are folded into the hashes after CompactAfter saves, in
	// chunks; every load in between sees the same state.
	for i := range 20 {
		save(int64(5+i), stream.DeltaPart{Puts: []stream.KV{kv(fmt.Sprint("k", i*7), "v"), kv(fmt.Sprint("n", i), "w")}, Dels: [][]byte{[]byte(fmt.Sprint("k", i*11))}},
			stream.DeltaPart{Dels: [][]byte{[]byte("y")}, Puts: []stream.KV{kv(fmt.Sprint("y", i), "z")}})
	}
	var segs, stages []string
	require.NoError(t, scanKeys(ctx, rdb, prefix+"{p/t/2}:s*", func(k string) { segs = append(segs, k) }))
	require.LessOrEqual(t, len(segs), s.CompactAfter, "segments folded: %v", segs)
	require.NoError(t, scanKeys(ctx, rdb, prefix+"{p/t/2}:*:*", func(k string) {
		if !strings.HasSuffix(k, ":epoch") {
			stages = append(stages, k)
		}
	}))
	require.Len(t, stages, 2, "one hash per part, the replaced one gone: %v", stages)
	for _, k := range stages {
		require.EqualValues(t, -1, rdb.TTL(ctx, k).Val(), "%s is persistent", k)
	}
	// Fewer parts: the dropped part's hash goes.
	require.NoError(t, s.Save(ctx, "p/t/2", &stream.Checkpoint{Offset: 6, Delta: &stream.StateDelta{Meta: []byte{3}, Parts: []stream.DeltaPart{{Full: true}}}}))
	var left []string
	require.NoError(t, scanKeys(ctx, rdb, prefix+"{p/t/2}:*", func(k string) { left = append(left, k) }))
	require.Len(t, left, 3, "the dropped part's hash and the folded segments go: %v", left) // epoch, part 0 (empty, its mark), the new segment
}

// A checkpoint of the layout before deltas (one string) is loaded, and
// removed once the first delta checkpoint is saved.
func TestRedisStoreLoadsTheOldLayout(t *testing.T) {
	rdb, prefix := testredis.Client(t, 5)
	ctx := context.Background()
	old := &stream.Checkpoint{Offset: 12, MaxTime: 99, State: []byte{1, 2, 3}, SavedAt: time.Unix(10, 0)}
	b, err := old.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, prefix+"p/t/3", b, 0).Err())
	s := NewRedis(rdb, prefix)
	got, err := s.Load(ctx, "p/t/3")
	require.NoError(t, err)
	require.Equal(t, old.State, got.State)
	require.NoError(t, s.Save(ctx, "p/t/3", &stream.Checkpoint{Offset: 13, Delta: &stream.StateDelta{Meta: []byte{3}}}))
	require.Zero(t, rdb.Exists(ctx, prefix+"p/t/3").Val())
	got, err = s.Load(ctx, "p/t/3")
	require.NoError(t, err)
	require.EqualValues(t, 13, got.Offset)
}

// Fencing: each Load (an assignment) takes a new epoch; a store whose
// epoch is behind (a zombie that lost the partition without noticing)
// cannot overwrite the newer owner's checkpoint, and says so.
func TestRedisStoreFencesZombies(t *testing.T) {
	rdb, prefix := testredis.Client(t, 5)
	ctx := context.Background()
	old, cur := NewRedis(rdb, prefix), NewRedis(rdb, prefix)
	_, err := old.Load(ctx, "p/t/1")
	require.NoError(t, err)
	require.NoError(t, old.Save(ctx, "p/t/1", &stream.Checkpoint{Offset: 5}))
	// The partition moves: the new owner loads old's checkpoint.
	got, err := cur.Load(ctx, "p/t/1")
	require.NoError(t, err)
	require.EqualValues(t, 5, got.Offset)
	require.Greater(t, cur.Epoch("p/t/1"), old.Epoch("p/t/1"))
	require.NoError(t, cur.Save(ctx, "p/t/1", &stream.Checkpoint{Offset: 9}))
	// The zombie wakes up and saves: refused, the newer checkpoint stays.
	err = old.Save(ctx, "p/t/1", &stream.Checkpoint{Offset: 6})
	require.ErrorIs(t, err, ErrFenced)
	require.ErrorContains(t, err, "this consumer is a zombie")
	got, err = NewRedis(rdb, prefix).Load(ctx, "p/t/1")
	require.NoError(t, err)
	require.EqualValues(t, 9, got.Offset)
	// A store saving a key it never loaded takes an epoch first: it is
	// then the newest, and cur is fenced in turn.
	other := NewRedis(rdb, prefix)
	require.NoError(t, other.Save(ctx, "p/t/1", &stream.Checkpoint{Offset: 10}))
	require.ErrorIs(t, cur.Save(ctx, "p/t/1", &stream.Checkpoint{Offset: 11}), ErrFenced)
}

// A compaction that stops after folding the segments into the hashes (the
// process dies before the head drops them) restores the same state: the
// segments, applied again, change nothing.
func TestRedisStoreFoldInterrupted(t *testing.T) {
	rdb, prefix := testredis.Client(t, 5)
	ctx := context.Background()
	s := NewRedis(rdb, prefix)
	s.CompactAfter = 100
	_, err := s.Load(ctx, "p/t/4")
	require.NoError(t, err)
	kv := func(k, v string) stream.KV { return stream.KV{Key: []byte(k), Value: []byte(v)} }
	require.NoError(t, s.Save(ctx, "p/t/4", &stream.Checkpoint{Offset: 1, Delta: &stream.StateDelta{Meta: []byte{3},
		Parts: []stream.DeltaPart{{Full: true, Puts: []stream.KV{kv("a", "1"), kv("b", "1")}}}}}))
	for i := range 5 {
		p := stream.DeltaPart{Puts: []stream.KV{kv("a", fmt.Sprint(i)), kv(fmt.Sprint("c", i), "x")}}
		if i%2 == 1 {
			p.Dels = [][]byte{[]byte("b"), []byte(fmt.Sprint("c", i-1))}
		} else {
			p.Puts = append(p.Puts, kv("b", fmt.Sprint(i)))
		}
		require.NoError(t, s.Save(ctx, "p/t/4", &stream.Checkpoint{Offset: int64(2 + i), Delta: &stream.StateDelta{Meta: []byte{3}, Parts: []stream.DeltaPart{p}}}))
	}
	before, err := NewRedis(rdb, prefix).Load(ctx, "p/t/4")
	require.NoError(t, err)
	s = NewRedis(rdb, prefix)
	_, err = s.Load(ctx, "p/t/4")
	require.NoError(t, err)
	require.NoError(t, s.fold(ctx, "p/t/4", s.heads["p/t/4"], s.Epoch("p/t/4")))
	after, err := NewRedis(rdb, prefix).Load(ctx, "p/t/4")
	require.NoError(t, err)
	entries := func(cp *stream.Checkpoint) map[string]string {
		m := map[string]string{}
		for _, kv := range cp.Delta.Parts[0].Puts {
			m[string(kv.Key)] = string(kv.Value)
		}
		return m
	}
	require.Equal(t, map[string]string{"a": "4", "b": "4", "c1": "x", "c3": "x", "c4": "x"}, entries(before))
	require.Equal(t, entries(before), entries(after))
}

// A checkpoint whose operator hash is gone (evicted, deleted) fails to
// load, naming it, rather than restoring the operator empty; a part that
// is empty (saved empty, or emptied by a fold) loads.
func TestRedisStoreLoadFailsOnAMissingHash(t *testing.T) {
	rdb, prefix := testredis.Client(t, 5)
	ctx := context.Background()
	s := NewRedis(rdb, prefix)
	s.CompactAfter = 2
	_, err := s.Load(ctx, "p/t/5")
	require.NoError(t, err)
	kv := func(k, v string) stream.KV { return stream.KV{Key: []byte(k), Value: []byte(v)} }
	save := func(offset int64, parts ...stream.DeltaPart) {
		t.Helper()
		require.NoError(t, s.Save(ctx, "p/t/5", &stream.Checkpoint{Offset: offset, Delta: &stream.StateDelta{Meta: []byte{3}, Parts: parts}}))
	}
	save(1, stream.DeltaPart{Full: true, Puts: []stream.KV{kv("a", "1")}}, stream.DeltaPart{Full: true})
	save(2, stream.DeltaPart{Dels: [][]byte{[]byte("a")}}, stream.DeltaPart{}) // folded: part 0 emptied
	got, err := s.Load(ctx, "p/t/5")                                           // takes the next epoch: s stays the owner
	require.NoError(t, err)
	require.Len(t, got.Delta.Parts, 2)
	require.Empty(t, got.Delta.Parts[0].Puts)
	require.Empty(t, got.Delta.Parts[1].Puts)
	save(3, stream.DeltaPart{Puts: []stream.KV{kv("b", "2")}}, stream.DeltaPart{Full: true, Puts: []stream.KV{kv("c", "3")}})
	save(4, stream.DeltaPart{Puts: []stream.KV{kv("d", "4")}}, stream.DeltaPart{})
	var hashes []string
	require.NoError(t, scanKeys(ctx, rdb, prefix+"{p/t/5}:1:*", func(k string) { hashes = append(hashes, k) }))
	require.Len(t, hashes, 1)
	require.NoError(t, rdb.Del(ctx, hashes[0]).Err())
	_, err = NewRedis(rdb, prefix).Load(ctx, "p/t/5")
	require.ErrorContains(t, err, hashes[0])
}

// An entry put with an empty (nil) value is an entry: folding the segment
// into the hash keeps it rather than taking it for a removal.
func TestRedisStoreFoldKeepsEmptyValues(t *testing.T) {
	rdb, prefix := testredis.Client(t, 5)
	ctx := context.Background()
	s := NewRedis(rdb, prefix)
	s.CompactAfter = 1
	_, err := s.Load(ctx, "p/t/6")
	require.NoError(t, err)
	var p stream.DeltaPart
	p.Put([]byte("a"), nil)
	require.NoError(t, s.Save(ctx, "p/t/6", &stream.Checkpoint{Offset: 1, Delta: &stream.StateDelta{Meta: []byte{3}, Parts: []stream.DeltaPart{{Full: true}}}}))
	require.NoError(t, s.Save(ctx, "p/t/6", &stream.Checkpoint{Offset: 2, Delta: &stream.StateDelta{Meta: []byte{3}, Parts: []stream.DeltaPart{p}}}))
	got, err := s.Load(ctx, "p/t/6")
	require.NoError(t, err)
	require.Len(t, got.Delta.Parts[0].Puts, 1)
	require.Equal(t, "a", string(got.Delta.Parts[0].Puts[0].Key))
}
