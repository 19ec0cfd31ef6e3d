package rules

import (
	"context"
	"github.com/rulestream/rulestream/internal/testredis"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedis returns a client of the test Redis (RULESTREAM_TEST_REDIS, DB 3
// reserved for this package) and a key prefix unique to the test.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	return testredis.Client(t, 3)
}

func TestRedisWatcher(t *testing.T) {
	client, prefix := testRedis(t)
	key, channel := prefix+"set", prefix+"changed"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := client.Set(ctx, key, versionedYAML("r1"), 0).Err(); err != nil {
		t.Fatal(err)
	}
	set, _ := testEnv().Load("a.yaml", versionedYAML("r0"))
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	res := make(reloads, 16)
	rw := NewRedisWatcher(en, client, key, channel, res.cfg())
	done := make(chan error, 1)
	go func() { done <- rw.Run(ctx) }()
	res.waitFor(t, ctx, "initial load of r1", func(r reloadResult) bool { return r.err == nil && r.version == "r1" })

	if err := PublishRules(ctx, client, key, channel, versionedYAML("r2")); err != nil {
		t.Fatal(err)
	}
	res.waitFor(t, ctx, "r2", func(r reloadResult) bool { return r.err == nil && r.version == "r2" })

	if err := PublishRules(ctx, client, key, channel, []byte("rules: [{name: x, when: 'nope', target: t}]")); err != nil {
		t.Fatal(err)
	}
	bad := res.waitFor(t, ctx, "rejection", func(r reloadResult) bool { return r.err != nil })
	if bad.version != "r2" || en.Stats().Rejected != 1 {
		t.Fatalf("invalid set: %+v stats %+v", bad, en.Stats())
	}
	if err := client.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.Publish(ctx, channel, "x").Err(); err != nil {
		t.Fatal(err)
	}
	gone := res.waitFor(t, ctx, "missing key", func(r reloadResult) bool { return r.err != nil })
	if gone.version != "r2" {
		t.Fatalf("missing key changed the live set: %+v", gone)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
}
