package metrics_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

// The history restart through RedisHistory against the test Redis: the
// second monitor reads it with a client of its own.
func TestSourceMonitorHistoryInRedis(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	historyRestart(t, alert.NewRedisHistory(rdb, prefix), func() metrics.HistoryStore {
		c := redis.NewClient(&redis.Options{Addr: testredis.Addr(t)})
		t.Cleanup(func() { c.Close() })
		return alert.NewRedisHistory(c, prefix)
	})
	fields := rdb.HGetAll(context.Background(), prefix+"source:history:web").Val()
	if len(fields) < 24 {
		t.Fatalf("%d hours stored under %ssource:history:web", len(fields), prefix)
	}
	for f, v := range fields {
		if _, _, err := alert.ParseHour(f, v); err != nil || strings.Count(v, " ") != 1 {
			t.Errorf("stored %s = %q: %v", f, v, err)
		}
	}
}
