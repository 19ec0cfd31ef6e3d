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
