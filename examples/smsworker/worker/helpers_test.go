package worker_test

import (
	"context"
	"fmt"
	"github.com/rulestream/rulestream/internal/testredis"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

var seq atomic.Int64

// testRedis returns a client of RULESTREAM_TEST_REDIS (DB 2) and a key
// prefix unique to the test, whose keys are deleted afterwards.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	return testredis.Client(t, 2)
}

// addEntries appends n SMS entries to key and returns their IDs.
func addEntries(t *testing.T, rdb *redis.Client, key string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		id, err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: key, Values: []any{
			"customer_id", fmt.Sprint(1000 + i), "track_id", "7", "event_id", fmt.Sprint(i), "rule", "sms_offer",
			"rule_version", "v1", "at", "1772366400000", "name", fmt.Sprintf("Customer %d", i), "offer_id", "offer-1"}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// pending returns the number of entries pending in the group.
func pending(t *testing.T, rdb *redis.Client, key, group string) int64 {
	t.Helper()
	p, err := rdb.XPending(context.Background(), key, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

// recorder is a Sender that records what it sent and signals each send.
type recorder struct {
	mu   sync.Mutex
	sent map[string]int
	note chan string
}

func newRecorder() *recorder {
	return &recorder{sent: map[string]int{}, note: make(chan string, 100000)}
}

func (r *recorder) record(id string) {
	r.mu.Lock()
	r.sent[id]++
	r.mu.Unlock()
	r.note <- id
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[id]
}

// waitSends waits for n more send notifications.
func waitSends(ctx context.Context, t *testing.T, note <-chan string, n int) {
	t.Helper()
	for range n {
		select {
		case <-note:
		case <-ctx.Done():
			t.Fatalf("waiting for sends: %v", ctx.Err())
		}
	}
}
