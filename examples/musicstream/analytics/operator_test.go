package analytics

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

var t0 = time.Date(2014, 10, 1, 10, 0, 0, 0, time.UTC)

// play returns an enriched play at t0+at.
func play(id int64, cust int64, at time.Duration, mobile bool, zip string, level int64) stream.Event {
	f := []stream.Value{stream.Int(id), stream.Int(cust), stream.Int(100 + id%3), stream.TimeNanos(t0.Add(at).UnixNano()), stream.Bool(mobile), stream.String(zip)}
	vals := make([]stream.Value, gen.CustomerSchema.Len())
	vals[gen.CustomerSchema.Index("level")] = stream.Int(level)
	vals[gen.CustomerSchema.Index("gender")] = stream.Int(1)
	ev := stream.Event{Key: "c", Time: t0.Add(at).UnixNano(), Schema: gen.PlaySchema, Fields: f}
	ev.SetJoin("customer", &stream.Record{Schema: gen.CustomerSchema, Values: vals})
	return ev
}

func started(t *testing.T, rdb redis.UniversalClient, cfg Config, clock stream.Clock) *Analytics {
	t.Helper()
	a, err := New(rdb, stream.PartitionID{Partition: 4}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background(), stream.Env{Pipeline: "t", Clock: clock}); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLateUpdateOverwrites(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	a := started(t, rdb, Config{Prefix: prefix, AllowedLateness: 10 * time.Minute}, stream.NewManualClock(t0))
	var em stream.Emitter
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Process(ctx, []stream.Event{play(1, 1, 10*time.Second, true, "10001", 0), play(2, 2, 30*time.Minute, false, "10002", 2)}, &em))
	must(a.Advance(ctx, t0.Add(time.Hour).UnixNano(), &em))
	key := prefix + "stats:plays:hour:2014100110"
	if got := rdb.HGetAll(ctx, key).Val(); got["plays"] != "2" || got["mobile"] != "1" || got["listeners"] != "2" {
		t.Fatalf("after the first firing: %v", got)
	}
	// Within the lateness: the hour re-fires and its counts are overwritten.
	must(a.Process(ctx, []stream.Event{play(3, 2, 59*time.Minute, true, "10002", 2)}, &em))
	if got := rdb.HGetAll(ctx, key).Val(); got["plays"] != "3" || got["mobile"] != "2" || got["desktop"] != "1" || got["listeners"] != "2" {
		t.Fatalf("after the update: %v", got)
	}
	if got := rdb.ZScore(ctx, prefix+"stats:zip:hour:2014100110", "10002").Val(); got != 2 {
		t.Errorf("zip 10002: %v plays, want 2", got)
	}
	if got := rdb.HGet(ctx, prefix+"stats:level:hour:2014100110", "2").Val(); got != "2" {
		t.Errorf("level 2: %q, want 2", got)
	}
	if len(em.Events()) != 0 {
		t.Errorf("the operator emitted %d events, want none", len(em.Events()))
	}
	if hours := rdb.ZRange(ctx, prefix+"stats:hours", 0, -1).Val(); len(hours) != 1 || hours[0] != "2014100110" {
		t.Errorf("hours index %v", hours)
	}
}

func TestWriteFailureIsRetried(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	clock := stream.NewManualClock(t0)
	a := started(t, rdb, Config{Prefix: prefix, RetryEvery: 5 * time.Second}, clock)
	// A string where the partitions set belongs: the transaction fails.
	rdb.Set(ctx, prefix+"stats:partitions", "in the way", 0)
	var em stream.Emitter
	if err := a.Process(ctx, []stream.Event{play(1, 1, 0, true, "10001", 1)}, &em); err != nil {
		t.Fatal(err)
	}
	if err := a.Advance(ctx, t0.Add(2*time.Hour).UnixNano(), &em); err != nil {
		t.Fatalf("a write failure must not fail the pipeline: %v", err)
	}
	st := a.Stats()
	if st.WriteErrors != 1 || st.Pending == 0 || st.LastError == "" {
		t.Fatalf("stats after a failure: %+v", st)
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, prefix+"stats:partitions")
	clock.Advance(4 * time.Second) // not yet due
	if err := a.Advance(ctx, t0.Add(2*time.Hour).UnixNano(), &em); err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.WriteErrors != 1 || st.Pending == 0 {
		t.Fatalf("retried before RetryEvery: %+v", st)
	}
	clock.Advance(time.Second)
	if err := a.Advance(ctx, t0.Add(2*time.Hour).UnixNano(), &em); err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.Pending != 0 || st.LastError != "" || st.Keys == 0 {
		t.Fatalf("after the retry: %+v", st)
	}
	want := dump(t, rdb, prefix)
	if want[prefix+"stats:plays:hour:2014100110"] != "desktop=0 listeners=1 mobile=1 plays=1 " {
		t.Fatalf("plays after retry: %q", want[prefix+"stats:plays:hour:2014100110"])
	}

	// The snapshot taken while the write was pending carries it.
	testredis.DeletePrefix(ctx, rdb, prefix)
	b := started(t, rdb, Config{Prefix: prefix}, clock)
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if b.Stats().Pending == 0 {
		t.Fatal("restored no pending writes")
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, rdb, prefix); len(got) != len(want) || got[prefix+"stats:plays:hour:2014100110"] != want[prefix+"stats:plays:hour:2014100110"] {
		t.Fatalf("restored writes differ:\n got %v\nwant %v", got, want)
	}
}

func TestRestoreRejectsCorruptInput(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	defer rdb.Close()
	a, err := New(rdb, stream.PartitionID{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Restore(snap); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("RSA"), []byte("RSA\x09"), snap[:len(snap)-1], append(append([]byte(nil), snap...), 0)} {
		if err := a.Restore(bad); err == nil {
			t.Errorf("Restore(%q) = %v, want an error", bad, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := New(redis.NewClient(&redis.Options{}), stream.PartitionID{}, Config{TTL: -1}); err == nil {
		t.Error("negative TTL accepted")
	}
	if _, err := New(nil, stream.PartitionID{}, Config{}); err == nil {
		t.Error("nil client accepted")
	}
	if _, err := ParseBucket("2014100110"); err != nil {
		t.Error(err)
	}
	if _, err := ParseBucket("20141001"); err != nil {
		t.Error(err)
	}
	if _, err := ParseBucket("2014-10"); err == nil {
		t.Error("bad bucket accepted")
	}
}

func FuzzRestore(f *testing.F) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	a, err := New(rdb, stream.PartitionID{}, Config{})
	if err != nil {
		f.Fatal(err)
	}
	var em stream.Emitter
	_ = a.Process(context.Background(), []stream.Event{play(1, 1, 0, true, "10001", 1)}, &em)
	snap, _ := a.Snapshot()
	f.Add(snap)
	f.Add([]byte("RSA\x01\x07"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := New(rdb, stream.PartitionID{}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Restore(data); err != nil {
			return
		}
		again, err := b.Snapshot()
		if err != nil {
			t.Fatalf("snapshot after restore: %v", err)
		}
		if err := b.Restore(again); err != nil {
			t.Fatalf("restore of a re-snapshot: %v", err)
		}
	})
}
