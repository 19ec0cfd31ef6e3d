package targets

import (
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// benchSchema is the payload of a rule emission, for the benchmarks inside
// the package.
var benchSchema = stream.MustSchema("e",
	stream.Field{Name: "customer_id", Kind: stream.KindInt}, stream.Field{Name: "track_id", Kind: stream.KindInt},
	stream.Field{Name: "event_id", Kind: stream.KindInt}, stream.Field{Name: "rule", Kind: stream.KindString},
	stream.Field{Name: "rule_version", Kind: stream.KindString}, stream.Field{Name: "at", Kind: stream.KindInt})

// BenchmarkEncodeStream measures the Go side of a stream write: encoding an
// emission into the script's MessagePack chunk (no Redis).
func BenchmarkEncodeStream(b *testing.B) {
	schema := benchSchema
	s, err := NewRedis(nil, Config{Name: "ads", Writes: []Write{
		{Op: OpSortedSet, Key: "interest:{customer_id}", Member: "track_id", Score: "at", NX: true},
		{Op: OpStream, Key: "queue:ads", MaxLen: 100000}}})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ev := stream.Event{Schema: schema, ID: "upgrade_ad:1234:99", Target: "ads", Fields: []stream.Value{
		stream.Int(1234), stream.Int(12), stream.Int(99), stream.String("upgrade_ad"), stream.String("v1"), stream.Int(at.UnixMilli())}}
	ids := make([]string, 4096) // distinct: a repeated ID starts a new chunk
	for i := range ids {
		ids[i] = "upgrade_ad:1234:" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ev.ID = ids[i%len(ids)]
		if _, err := s.encode(&ev); err != nil {
			b.Fatal(err)
		}
		if s.chunks[len(s.chunks)-1].events == s.cfg.ChunkSize {
			s.spare = append(s.spare, s.chunks...)
			s.chunks = s.chunks[:0]
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
