package enrich

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/internal/testredis"
)

// TestConnectCluster: -redis with several addresses is a cluster client.
func TestConnectCluster(t *testing.T) {
	addr := testredis.ClusterAddr(t)
	client, err := Connect(testCtx(t), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, ok := client.(*redis.ClusterClient); !ok {
		t.Fatalf("Connect(%q) gave a %T", addr, client)
	}
}

// TestInvalidatorOnCluster: keyspace notifications are each node's own, so
// the invalidator hears every master: changes to customers spread over the
// slots (so over the three masters) all reach it.
func TestInvalidatorOnCluster(t *testing.T) {
	client, prefix := testredis.ClusterClient(t)
	ctx := testCtx(t)
	l, err := NewLookup(client, customerLookup(prefix))
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 64)
	iv := NewInvalidator(client, InvalidatorConfig{OnInvalidate: func(key string) { seen <- key }})
	iv.WatchLookup(l)
	runInvalidator(t, iv)
	var want []string
	for id := range 30 {
		k := fmt.Sprintf("%scustomer:%d", prefix, id)
		want = append(want, k)
		if err := client.HSet(ctx, k, "level", "2").Err(); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for len(got) < len(want) {
		select {
		case k := <-seen:
			got = append(got, k)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d changes heard: %v", len(got), len(want), got)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("heard %v, want %v", got, want)
	}
}
