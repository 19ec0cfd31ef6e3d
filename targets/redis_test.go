package targets_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// On a cluster the five writes' keys are in five slots: five parts per
// event, counted once.
func TestRedisSinkWritesEveryOp(t *testing.T) {
	testredis.Run(t, testRedisSinkWritesEveryOp)
}

func testRedisSinkWritesEveryOp(t *testing.T, be testredis.Backend) {
	rdb, px := be.Client(t, testDB)
	ctx := context.Background()
	s, err := targets.NewRedis(rdb, targets.Config{
		Name: "all",
		Writes: []targets.Write{
			{Op: targets.OpStream, Key: px + "s", Fields: []string{"customer_id", "rule"}, MaxLen: 1000, IDField: "id"},
			targets.LPush(px+"l:{customer_id}", "track_id", "rule"),
			{Op: targets.OpSortedSet, Key: px + "z:{customer_id}", Member: "track_id", Score: "at", NX: true},
			targets.SAdd(px+"set", "customer_id"),
			targets.HSet(px+"h:{$id}", "track_id"),
		},
		MarkerPrefix: px + "m:",
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := []stream.Event{emission("ads", "r", 1), emission("ads", "r", 2)}
	if err := s.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	xs, err := rdb.XRange(ctx, px+"s", "-", "+").Result()
	if err != nil || len(xs) != 2 {
		t.Fatalf("stream: %v %v", xs, err)
	}
	if v := xs[0].Values; v["customer_id"] != "1001" || v["rule"] != "r" || v["id"] != "r:1001:1" || len(v) != 3 {
		t.Errorf("stream entry = %v", v)
	}
	if l := rdb.LRange(ctx, px+"l:1001", 0, -1).Val(); len(l) != 1 || l[0] != `{"track_id":2,"rule":"r"}` {
		t.Errorf("list = %q", l)
	}
	z := rdb.ZRangeWithScores(ctx, px+"z:1002", 0, -1).Val()
	if len(z) != 1 || z[0].Member != "3" || int64(z[0].Score) != t0.Add(2e9).UnixMilli() {
		t.Errorf("zset = %v", z)
	}
	if m := rdb.SMembers(ctx, px+"set").Val(); len(m) != 2 {
		t.Errorf("set = %v", m)
	}
	if h := rdb.HGetAll(ctx, px+"h:r:1001:1").Val(); h["track_id"] != "2" {
		t.Errorf("hash = %v", h)
	}
	if st := s.Stats(); st.Written != 2 || st.Duplicates != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestRedisSinkKeepsFailedBatch: a flush that gives up keeps its events;
// events written afterwards are sent with them, none twice.
func TestRedisSinkKeepsFailedBatch(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := context.Background()
	rdb.Set(ctx, px+"bad", "x", 0) // makes the second chunk fail permanently
	s, err := targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd(px + "{rule}")},
		MarkerPrefix: px + "m:", ChunkSize: 2, Batch: targets.BatchPolicy{Count: 100, Period: -1}})
	if err != nil {
		t.Fatal(err)
	}
	// Chunks: [bad3 ok1] fails, [ok2] is applied; ok4 must not join [ok2].
	evs := []stream.Event{emission("ads", "bad", 3), emission("ads", "ok", 1), emission("ads", "ok", 2)}
	if err := s.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err == nil {
		t.Fatal("flush into a string key succeeded")
	}
	if s.Pending() != 2 { // [bad3 ok1]; [ok2] was written
		t.Fatalf("pending %d after a failed flush, want 2", s.Pending())
	}
	rdb.Del(ctx, px+"bad")
	if err := s.Write(ctx, []stream.Event{emission("ads", "ok", 4)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if a, b := rdb.XLen(ctx, px+"ok").Val(), rdb.XLen(ctx, px+"bad").Val(); a != 3 || b != 1 {
		t.Fatalf("ok stream %d entries (want 3), bad stream %d (want 1)", a, b)
	}
}

// TestRedisSinkFailedFlightIsReported: a batch started by Write fails in the
// background; the next Write reports it, its events are pending again, and
// a later Flush writes each of them once, in order.
func TestRedisSinkFailedFlightIsReported(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := context.Background()
	rdb.Set(ctx, px+"ok", "x", 0) // a string: XADD fails with WRONGTYPE
	s, err := targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd(px + "{rule}")},
		MarkerPrefix: px + "m:", Batch: targets.BatchPolicy{Count: 2, Period: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []stream.Event{emission("ads", "ok", 1), emission("ads", "ok", 2)}); err != nil {
		t.Fatal(err) // the batch is full and now in flight
	}
	// The next full batch waits for the one in flight, and reports it.
	err = s.Write(ctx, []stream.Event{emission("ads", "ok", 3), emission("ads", "ok", 4)})
	if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") || !targets.IsPermanent(err) {
		t.Fatalf("second Write: %v, want the first batch's permanent WRONGTYPE", err)
	}
	if s.Pending() != 4 {
		t.Fatalf("pending %d, want 4", s.Pending())
	}
	rdb.Del(ctx, px+"ok")
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Pending() != 0 {
		t.Fatalf("pending %d after flush", s.Pending())
	}
	msgs := rdb.XRange(ctx, px+"ok", "-", "+").Val()
	var got []string
	for _, m := range msgs {
		got = append(got, m.Values["event_id"].(string))
	}
	if strings.Join(got, ",") != "1,2,3,4" {
		t.Fatalf("stream holds event ids %v, want 1,2,3,4", got)
	}
	if st := s.Stats(); st.Written != 4 || st.Failures != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRedisSinkOddLiterals: keys and field names become literals of the
// generated script; quotes, backslashes, control and non-UTF-8 bytes must
// reach Redis unchanged.
func TestRedisSinkOddLiterals(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := context.Background()
	odd := "q\"\\\n\x00\xff]]--[[é"
	schema := stream.MustSchema("odd", stream.Field{Name: odd, Kind: stream.KindString})
	key := px + odd + "{{x}}"
	s, err := targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd(key), targets.HSet(key + ":h")},
		MarkerPrefix: px + "m:"})
	if err != nil {
		t.Fatal(err)
	}
	ev := stream.Event{Schema: schema, ID: "id\"1", Fields: []stream.Value{stream.String(odd)}}
	if err := s.Write(ctx, []stream.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantKey := px + odd + "{x}"
	msgs := rdb.XRange(ctx, wantKey, "-", "+").Val()
	if len(msgs) != 1 || msgs[0].Values[odd] != odd {
		t.Fatalf("stream %q: %v", wantKey, msgs)
	}
	if h := rdb.HGetAll(ctx, wantKey+":h").Val(); h[odd] != odd {
		t.Fatalf("hash: %q", h)
	}
}

// TestRedisSinkWideSchema: a command of hundreds of arguments (a stream of
// 150 fields, with MAXLEN and the ID field) exceeds what a Lua call can pass
// inline; the generated script must still write it.
func TestRedisSinkWideSchema(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := context.Background()
	fields := make([]stream.Field, 150)
	vals := make([]stream.Value, len(fields))
	for i := range fields {
		fields[i] = stream.Field{Name: fmt.Sprintf("f%03d", i), Kind: stream.KindInt}
		vals[i] = stream.Int(int64(i))
	}
	schema := stream.MustSchema("wide", fields...)
	s, err := targets.NewRedis(rdb, targets.Config{MarkerPrefix: px + "m:", Writes: []targets.Write{
		{Op: targets.OpStream, Key: px + "wide", MaxLen: 1000, IDField: "id"}, targets.HSet(px + "wide:{$id}")}})
	if err != nil {
		t.Fatal(err)
	}
	evs := []stream.Event{{Schema: schema, ID: "w1", Fields: vals}, {Schema: schema, ID: "w2", Fields: vals}}
	for range 2 { // the second time changes nothing
		if err := s.Write(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgs := rdb.XRange(ctx, px+"wide", "-", "+").Val()
	if len(msgs) != 2 || len(msgs[1].Values) != 151 || msgs[1].Values["f149"] != "149" || msgs[1].Values["id"] != "w2" {
		t.Fatalf("stream: %d entries, last %v", len(msgs), msgs[len(msgs)-1].Values)
	}
	if h := rdb.HGetAll(ctx, px+"wide:w1").Val(); len(h) != 150 || h["f000"] != "0" {
		t.Fatalf("hash: %d fields", len(h))
	}
}

// TestMarkerBuckets: an ID marked in the previous time bucket is still a
// replay; a write unlinks the bucket before last (so Redis frees it in the
// background instead of expiring millions of members in its main thread);
// the current bucket expires three TTLs after it began.
// On a cluster the buckets are those of the stream's slot.
func TestMarkerBuckets(t *testing.T) {
	testredis.Run(t, testMarkerBuckets)
}

func testMarkerBuckets(t *testing.T, be testredis.Backend) {
	rdb, px := be.Client(t, testDB)
	ctx := context.Background()
	const ttl = time.Hour
	bucket := func() int64 { return markerBucket(t, rdb, ttl) }
	base := targets.MarkerBase(be.Name == "cluster", px+"m:", "ads", px+"q")
	key := func(b int64) string { return base + strconv.FormatInt(b, 10) }
	for attempt := 0; ; attempt++ { // again if the hour turns meanwhile
		b := bucket()
		for _, k := range []string{px + "q", key(b), key(b - 1), key(b - 2)} {
			rdb.Del(ctx, k)
		}
		rdb.SAdd(ctx, key(b-1), "e1")      // written an hour ago
		rdb.SAdd(ctx, key(b-2), "old", "") // two hours ago: no longer needed
		s, err := targets.NewRedis(rdb, targets.Config{Name: "ads", MarkerPrefix: px + "m:", MarkerTTL: ttl,
			Writes: []targets.Write{targets.XAdd(px + "q")}})
		if err != nil {
			t.Fatal(err)
		}
		e1, e2 := emission("ads", "r", 1), emission("ads", "r", 2)
		e1.ID, e2.ID = "e1", "e2"
		if err := s.Write(ctx, []stream.Event{e1, e2}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if bucket() != b && attempt < 3 {
			continue
		}
		if n := rdb.XLen(ctx, px+"q").Val(); n != 1 || s.Stats().Duplicates != 1 {
			t.Fatalf("stream has %d entries, stats %+v: e1 (marked in the previous bucket) must be skipped", n, s.Stats())
		}
		if rdb.Exists(ctx, key(b-2)).Val() != 0 {
			t.Fatal("the bucket before last is still there")
		}
		if !rdb.SIsMember(ctx, key(b), "e2").Val() {
			t.Fatal("e2 is not marked in the current bucket")
		}
		want := time.Duration(b+3) * ttl
		if got := rdb.PExpireTime(ctx, key(b)).Val(); got != want {
			t.Fatalf("current bucket expires at %v, want %v", got, want)
		}
		return
	}
}
