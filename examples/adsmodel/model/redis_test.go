package model

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// testRedisDB is the Redis database this package's tests use.
const testRedisDB = 7

var prefixSeq atomic.Int64

// testRedis connects to the real redis-server of RULESTREAM_TEST_REDIS
// (database 7) and returns a key prefix unique to the test; the test's keys
// are deleted when it ends.
func testRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	addr := os.Getenv("RULESTREAM_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RULESTREAM_TEST_REDIS is not set (CI=true): run scripts/test")
		}
		t.Skip("RULESTREAM_TEST_REDIS is not set: run scripts/test, or start redis-server and set it to host:port")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: testRedisDB})
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis %s: %v", addr, err)
	}
	prefix := fmt.Sprintf("adsmodel-test:%d:%d:%s:", os.Getpid(), prefixSeq.Add(1), t.Name())
	t.Cleanup(func() {
		var keys []string
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for len(keys) > 0 {
			n := min(len(keys), 1000)
			rdb.Del(ctx, keys[:n]...)
			keys = keys[n:]
		}
		rdb.Close()
	})
	return rdb, prefix
}
