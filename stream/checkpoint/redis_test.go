package checkpoint

import (
	"context"
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
	require.NoError(t, rdb.Set(ctx, prefix+"p/t/0", "garbage", 0).Err())
	_, err = s.Load(ctx, "p/t/0")
	require.ErrorContains(t, err, "checkpoint "+prefix+"p/t/0: checkpoint: unknown version")
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
