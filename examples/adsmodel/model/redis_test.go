package model

import (
	"github.com/rulestream/rulestream/internal/testredis"
	"testing"

	"github.com/redis/go-redis/v9"
)

// testRedisDB is the Redis database this package's tests use.
const testRedisDB = 7

// testRedis connects to the real redis-server of RULESTREAM_TEST_REDIS
// (database 7) and returns a key prefix unique to the test; the test's keys
// are deleted when it ends.
func testRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	return testredis.Client(t, testRedisDB)
}
