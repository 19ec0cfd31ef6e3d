package checkpoint

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
	"github.com/stretchr/testify/require"
)

func testRedis(t *testing.T) *redis.Client {
	addr := os.Getenv("RULESTREAM_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RULESTREAM_TEST_REDIS is not set under CI=true: run scripts/test")
		}
		t.Skip("RULESTREAM_TEST_REDIS not set (scripts/test starts a redis-server)")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: 5})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestRedisStoreRoundTrip(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	prefix := "cp-test:" + t.Name() + ":"
	t.Cleanup(func() { rdb.Del(ctx, prefix+"p/t/0") })
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
