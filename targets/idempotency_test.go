package targets_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// digest describes every key under prefix (markers excluded) with its
// content: stream entries' fields in order but not their generated IDs.
func digest(t *testing.T, rdb redis.UniversalClient, prefix string) string {
	t.Helper()
	ctx := context.Background()
	keys, err := testredis.Keys(ctx, rdb, prefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		name := strings.TrimPrefix(k, prefix)
		typ := rdb.Type(ctx, k).Val()
		fmt.Fprintf(&b, "%s %s:", name, typ)
		switch typ {
		case "stream":
			for _, x := range rdb.XRange(ctx, k, "-", "+").Val() {
				fields := make([]string, 0, len(x.Values))
				for f, v := range x.Values {
					fields = append(fields, fmt.Sprintf("%s=%v", f, v))
				}
				sort.Strings(fields)
				fmt.Fprintf(&b, " {%s}", strings.Join(fields, ","))
			}
		case "zset":
			for _, z := range rdb.ZRangeWithScores(ctx, k, 0, -1).Val() {
				fmt.Fprintf(&b, " %v=%v", z.Member, z.Score)
			}
		case "list":
			fmt.Fprint(&b, rdb.LRange(ctx, k, 0, -1).Val())
		case "set":
			m := rdb.SMembers(ctx, k).Val()
			sort.Strings(m)
			fmt.Fprint(&b, m)
		case "hash":
			h := rdb.HGetAll(ctx, k).Val()
			fs := make([]string, 0, len(h))
			for f, v := range h {
				fs = append(fs, f+"="+v)
			}
			sort.Strings(fs)
			fmt.Fprint(&b, fs)
		default:
			fmt.Fprint(&b, rdb.Get(ctx, k).Val())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// demoEmissions returns n emissions of every demo target.
func demoEmissions(n int) []stream.Event {
	var evs []stream.Event
	for i := range n {
		evs = append(evs, emission("interest", "interest_list", i), emission("ads", "upgrade_ad", i),
			emission("sms", "sms_offer", i), deadLetter(i))
	}
	return evs
}

func writeAll(t *testing.T, sink stream.Sink, evs []stream.Event, per int) {
	t.Helper()
	ctx := context.Background()
	for len(evs) > 0 {
		n := min(per, len(evs))
		if err := sink.Write(ctx, evs[:n]); err != nil {
			t.Fatal(err)
		}
		evs = evs[n:]
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestIdempotentTwiceEqualsOnce writes every demo target once into one key
// space, and twice, interleaved, into another: Redis must hold the same. On
// a cluster the interest target's two writes (interest:<customer> and
// queue:interest) are in different slots: each part is skipped on its own.
func TestIdempotentTwiceEqualsOnce(t *testing.T) {
	testredis.Run(t, testIdempotentTwiceEqualsOnce)
}

func testIdempotentTwiceEqualsOnce(t *testing.T, be testredis.Backend) {
	rdb, px := be.Client(t, testDB)
	evs := demoEmissions(300)
	once, twice := px+"once:", px+"twice:"
	cfg := func(p string) demoConfig {
		return demoConfig{Prefix: p, MarkerPrefix: px + "markers:" + p, Batch: targets.BatchPolicy{Count: 64}}
	}
	single, err := demoRouter(rdb, cfg(once))
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, single, evs, 100)

	// Twice: every event appears twice; each repeat follows its first
	// occurrence at a random distance, so duplicates fall into one chunk,
	// one batch and across batches, while first occurrences keep the order
	// (streams keep order, so only then can twice equal once).
	rng := rand.New(rand.NewPCG(1, 2))
	var double, pool []stream.Event
	for next := 0; next < len(evs) || len(pool) > 0; {
		if len(pool) > 0 && (next == len(evs) || rng.IntN(2) == 0) {
			k := rng.IntN(len(pool))
			double = append(double, pool[k])
			pool[k] = pool[len(pool)-1]
			pool = pool[:len(pool)-1]
			continue
		}
		double = append(double, evs[next])
		pool = append(pool, evs[next])
		next++
	}
	second, err := demoRouter(rdb, cfg(twice))
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, second, double, 37)

	a, b := digest(t, rdb, once), digest(t, rdb, twice)
	if a != b {
		if d := os.Getenv("TARGETS_DIGEST_DIR"); d != "" {
			_ = os.WriteFile(d+"/once.txt", []byte(a), 0o644)
			_ = os.WriteFile(d+"/twice.txt", []byte(b), 0o644)
		}
		t.Fatalf("twice differs from once:\nonce:\n%.2000s\ntwice:\n%.2000s", a, b)
	}
	if n := strings.Count(a, "\n"); n < 4+97 {
		t.Fatalf("digest has %d keys, want the 4 streams and the interest sets:\n%.500s", n, a)
	}
	if !strings.Contains(a, "queue:sms stream: {at=") || !strings.Contains(a, "name=Customer") {
		t.Errorf("sms stream lacks its fields:\n%.500s", a)
	}
	// A third replay of everything changes nothing either.
	third, _ := demoRouter(rdb, cfg(twice))
	writeAll(t, third, evs, 500)
	if c := digest(t, rdb, twice); c != a {
		t.Fatal("a replay changed Redis")
	}
}
