package targets

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
)

// BenchmarkScriptOnly measures the Redis side alone: pre-encoded chunks of
// 256 stream writes sent through the idempotent script, 16 chunks per
// pipeline, each round with fresh markers. Against RULESTREAM_TEST_REDIS.
func BenchmarkScriptOnly(b *testing.B) {
	addr := os.Getenv("RULESTREAM_TEST_REDIS")
	if addr == "" {
		b.Skip("RULESTREAM_TEST_REDIS not set")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: 2})
	defer rdb.Close()
	ctx := context.Background()
	px := "tt:scriptonly:" + strconv.Itoa(os.Getpid()) + ":"
	schema := stream.MustSchema("e",
		stream.Field{Name: "customer_id", Kind: stream.KindInt}, stream.Field{Name: "track_id", Kind: stream.KindInt},
		stream.Field{Name: "event_id", Kind: stream.KindInt}, stream.Field{Name: "rule", Kind: stream.KindString},
		stream.Field{Name: "rule_version", Kind: stream.KindString}, stream.Field{Name: "at", Kind: stream.KindInt})
	s, err := NewRedis(rdb, Config{Name: "bench", Writes: []Write{{Op: OpStream, Key: px + "s", MaxLen: 100000}}})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 16*256; i++ {
		ev := stream.Event{Schema: schema, ID: "upgrade_ad:" + strconv.Itoa(i), Fields: []stream.Value{
			stream.Int(1234), stream.Int(12), stream.Int(int64(i)), stream.String("upgrade_ad"), stream.String("v1"), stream.Int(1700000000000)}}
		if _, err := s.encode(&ev); err != nil {
			b.Fatal(err)
		}
	}
	sc := s.chunks[0].shape.script
	if err := rdb.ScriptLoad(ctx, sc.src).Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n, round := 0, 0; n < b.N; round++ {
		pipe := rdb.Pipeline()
		base := px + "m" + strconv.Itoa(round) + ":" // fresh markers each round
		for _, c := range s.chunks {
			pipe.EvalSha(ctx, sc.sha, nil, c.p.finish(), base, "60000")
			n += c.events
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	iter := rdb.Scan(ctx, 0, px+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Unlink(ctx, iter.Val())
	}
}
