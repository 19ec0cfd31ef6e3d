package analytics

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

// testDB is the Redis database reserved for this package's tests.
const testDB = 9

// testRedis returns a client of RULESTREAM_TEST_REDIS (DB 9) and a key
// prefix unique to the test; the prefix's keys are deleted at the end.
func testRedis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	return testredis.Client(tb, testDB)
}

// dump returns every key under prefix with its content, for comparisons.
func dump(t *testing.T, rdb *redis.Client, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		switch rdb.Type(ctx, k).Val() {
		case "hash":
			m := rdb.HGetAll(ctx, k).Val()
			out[k] = sortedMap(m)
		case "zset":
			zs := rdb.ZRangeWithScores(ctx, k, 0, -1).Val()
			var b strings.Builder
			for _, z := range zs {
				fmt.Fprintf(&b, "%v=%v ", z.Member, z.Score)
			}
			out[k] = b.String()
		case "set":
			m := rdb.SMembers(ctx, k).Val()
			sort.Strings(m)
			out[k] = strings.Join(m, ",")
		default:
			out[k] = rdb.Type(ctx, k).Val()
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + " ")
	}
	return b.String()
}

// enriched returns the generated plays as events joined with their customer
// (as the customer lookup would), partitioned by customer over parts
// partitions. Customers whose id is divisible by 3 get an age band when
// ageBands is set.
func enriched(d *gen.Data, parts int, ageBands bool) []stream.Event {
	recs := map[int64]*stream.Record{}
	for _, c := range d.Customers {
		vals := make([]stream.Value, gen.CustomerSchema.Len())
		vals[gen.CustomerSchema.Index("id")] = stream.Int(c.ID)
		vals[gen.CustomerSchema.Index("gender")] = stream.Int(int64(c.Gender))
		vals[gen.CustomerSchema.Index("level")] = stream.Int(int64(c.Level))
		vals[gen.CustomerSchema.Index("zip")] = stream.String(c.Zip)
		if ageBands && c.ID%3 == 0 {
			vals[gen.CustomerSchema.Index("age_band")] = stream.String(ageBand(c.ID))
		}
		recs[c.ID] = &stream.Record{Schema: gen.CustomerSchema, Values: vals}
	}
	evs := gen.PlayEvents("plays", d.Plays)
	for i := range evs {
		cid := evs[i].Fields[gen.PlayCustomerID].Int()
		if cid%50 != 7 { // a few unknown customers
			evs[i].SetJoin("customer", recs[cid])
		} else {
			evs[i].SetJoin("customer", nil)
		}
		evs[i].Pos.Partition = int32(cid % int64(max(parts, 1)))
		if parts == 0 {
			evs[i].Pos.Partition = -1
		}
	}
	return evs
}

func ageBand(id int64) string { return [...]string{"18-24", "25-34", "35-54", "55+"}[id%4] }

// genData is a small data set spanning more than a day of event time.
func genData(plays int) *gen.Data { return genDataGap(plays, 20*time.Second) }

// genDataGap generates plays with a mean event-time gap.
func genDataGap(plays int, gap time.Duration) *gen.Data {
	return gen.Generate(gen.Config{Seed: 7, Plays: plays, Customers: 800, Tracks: 300, MeanGap: gap,
		Duplicates: 0.01, MaxDelay: time.Minute, Repeats: 5})
}
