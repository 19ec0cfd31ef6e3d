package enrich

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/gen"
)

// testDB is the Redis database reserved for this package's tests.
const testDB = 1

// testAddr returns the test Redis address, skipping (or failing under CI)
// when there is none.
func testAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("RULESTREAM_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RULESTREAM_TEST_REDIS is not set (run scripts/test)")
		}
		t.Skip("RULESTREAM_TEST_REDIS is not set: run scripts/test, or start redis-server and export RULESTREAM_TEST_REDIS=host:port")
	}
	return addr
}

// testClient returns a client on the test DB and a key prefix unique to
// the test; keys under it are deleted at the end.
func testClient(t testing.TB) (*redis.Client, string) {
	t.Helper()
	addr := testAddr(t)
	client := redis.NewClient(&redis.Options{Addr: addr, DB: testDB})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	prefix := fmt.Sprintf("enrichtest:%s:%x:", name, rand.Uint64())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		deletePrefix(ctx, client, prefix)
		_ = client.Close()
	})
	return client, prefix
}

func deletePrefix(ctx context.Context, client redis.UniversalClient, prefix string) {
	iter := client.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			client.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		client.Unlink(ctx, keys...)
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// genFiles returns generated cust.csv and music.csv bytes.
func genFiles(t testing.TB, cfg gen.Config) (*gen.Data, []byte, []byte) {
	t.Helper()
	d := gen.Generate(cfg)
	var cust, music bytes.Buffer
	if err := gen.WriteCustomers(&cust, d.Customers); err != nil {
		t.Fatal(err)
	}
	if err := gen.WriteMusic(&music, d.Tracks); err != nil {
		t.Fatal(err)
	}
	return d, cust.Bytes(), music.Bytes()
}

// playEvents makes play events for the given customer and track ids.
func playEvents(custIDs, trackIDs []int64) []stream.Event {
	evs := make([]stream.Event, len(custIDs))
	for i := range custIDs {
		evs[i] = stream.Event{
			Key:    fmt.Sprint(custIDs[i]),
			Time:   int64(i) * int64(time.Second),
			Pos:    stream.Position{Source: "plays", Offset: int64(i + 1), Line: true},
			Schema: stream.PlaySchema,
			Fields: []stream.Value{stream.Int(int64(i)), stream.Int(custIDs[i]), stream.Int(trackIDs[i]),
				stream.TimeNanos(int64(i) * int64(time.Second)), stream.Bool(false), stream.String("12345")},
		}
	}
	return evs
}

func sharedData(t *testing.T, name string) string {
	t.Helper()
	p := "../../shared/data/" + name
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not present: %v", p, err)
	}
	return p
}
