package targets

import (
	"context"
	"strconv"
	"testing"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

// BenchmarkScriptOnly measures the Redis side alone: pre-encoded chunks of
// 256 stream writes sent through the idempotent script, 16 chunks per
// pipeline, each round with fresh markers. Against RULESTREAM_TEST_REDIS;
// its keys are deleted afterwards.
func BenchmarkScriptOnly(b *testing.B) {
	rdb, px := testredis.Client(b, 2)
	ctx := context.Background()
	s, err := NewRedis(rdb, Config{Name: "bench", Writes: []Write{{Op: OpStream, Key: px + "s", MaxLen: 100000}}})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 16*256; i++ {
		ev := stream.Event{Schema: benchSchema, ID: "upgrade_ad:" + strconv.Itoa(i), Fields: []stream.Value{
			stream.Int(1234), stream.Int(12), stream.Int(int64(i)), stream.String("upgrade_ad"), stream.String("v1"), stream.Int(1700000000000)}}
		if _, err := s.encode(&ev); err != nil {
			b.Fatal(err)
		}
	}
	sc := s.chunks[0].script
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
}

// BenchmarkSeqScriptOnly is BenchmarkScriptOnly for a checkpointed
// partition's outputs in input order (stream.Event.Seq): no marker, a
// high-water mark per partition. Each round writes a fresh partition.
func BenchmarkSeqScriptOnly(b *testing.B) {
	rdb, px := testredis.Client(b, 2)
	ctx := context.Background()
	s, err := NewRedis(rdb, Config{Name: "bench", Writes: []Write{{Op: OpStream, Key: px + "s", MaxLen: 100000}}})
	if err != nil {
		b.Fatal(err)
	}
	origin := stream.NewOrigin("bench/0", 1, -1)
	for i := 0; i < 16*256; i++ {
		ev := stream.Event{Schema: benchSchema, ID: "upgrade_ad:" + strconv.Itoa(i), Origin: origin, Seq: int64(i + 1), Fields: []stream.Value{
			stream.Int(1234), stream.Int(12), stream.Int(int64(i)), stream.String("upgrade_ad"), stream.String("v1"), stream.Int(1700000000000)}}
		if _, err := s.encode(&ev); err != nil {
			b.Fatal(err)
		}
	}
	sc := s.chunks[0].script
	if !s.chunks[0].seq {
		b.Fatal("the chunks are not in input order")
	}
	if err := rdb.ScriptLoad(ctx, sc.src).Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n, round := 0, 0; n < b.N; round++ {
		pipe := rdb.Pipeline()
		base := px + "m" + strconv.Itoa(round) // a fresh partition each round
		for _, c := range s.chunks {
			pipe.EvalSha(ctx, sc.sha, nil, c.p.finish(), base, "0", 1, -1, -1, 60000)
			n += c.events
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
