package testredis

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// ClusterEnvVar names the variable holding the test Redis Cluster: the
// addresses of its masters, comma-separated, as -redis takes them.
// scripts/test starts a 3-master cluster and sets it.
const ClusterEnvVar = "RULESTREAM_TEST_REDIS_CLUSTER"

// ClusterAddr returns the test cluster's addresses. Without them the test
// is skipped, except under CI=true, where it fails.
func ClusterAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(ClusterEnvVar)
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI=true: run scripts/test", ClusterEnvVar)
		}
		t.Skipf("%s not set: this test needs a Redis Cluster (scripts/test starts one)", ClusterEnvVar)
	}
	return addr
}

// ClusterClient returns a client of the test cluster and a key prefix
// unique to this test; the keys under the prefix are deleted, on every
// master, when the test ends.
func ClusterClient(t testing.TB) (*redis.ClusterClient, string) {
	t.Helper()
	addr := ClusterAddr(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addr, ",")})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis cluster at %s: %v", addr, err)
	}
	prefix := fmt.Sprintf("t:%s:%d:%d:", cleanName(t.Name()), os.Getpid(), seq.Add(1))
	t.Cleanup(func() {
		DeletePrefix(context.Background(), rdb, prefix)
		rdb.Close()
	})
	return rdb, prefix
}

// Backend is a Redis deployment a test runs against.
type Backend struct {
	Name string // "single" or "cluster"
	// Client returns a client and a key prefix unique to the test (see
	// Client and ClusterClient); db is ignored by the cluster.
	Client func(t testing.TB, db int) (redis.UniversalClient, string)
}

// Backends are the single test Redis and the test cluster. Run each test
// as a subtest per backend; a subtest skips when its backend is not
// configured.
var Backends = []Backend{
	{Name: "single", Client: func(t testing.TB, db int) (redis.UniversalClient, string) { return Client(t, db) }},
	{Name: "cluster", Client: func(t testing.TB, _ int) (redis.UniversalClient, string) { return ClusterClient(t) }},
}

// AddrOf returns the address of backend b for -redis, skipping the test when
// it is not configured.
func (b Backend) AddrOf(t testing.TB) string {
	t.Helper()
	if b.Name == "cluster" {
		return ClusterAddr(t)
	}
	return Addr(t)
}

func cleanName(n string) string {
	return strings.NewReplacer("/", "_", " ", "_", "*", "_", "?", "_", "[", "_", "]", "_", `\`, "_", "{", "_", "}", "_").Replace(n)
}

// Open returns a new client of backend b (the cluster ignores db), closed
// when the test ends; it skips the test when b is not configured.
func (b Backend) Open(t testing.TB, db int) redis.UniversalClient {
	t.Helper()
	var rdb redis.UniversalClient
	if b.Name == "cluster" {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(ClusterAddr(t), ",")})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: Addr(t), DB: db})
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Run runs fn as a subtest per backend, named after it; a subtest skips
// when its backend is not configured.
func Run(t *testing.T, fn func(t *testing.T, b Backend)) {
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) {
			b.AddrOf(t)
			fn(t, b)
		})
	}
}

// Keys returns the keys matching pattern, on every master of a cluster.
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	c, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return rdb.Keys(ctx, pattern).Result()
	}
	var mu sync.Mutex
	var keys []string
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		ks, err := m.Keys(ctx, pattern).Result()
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	})
	return keys, err
}
