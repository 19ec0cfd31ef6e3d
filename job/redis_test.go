package job

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

// redisJob reads the customers of testdata/customers.csv from Redis, fires
// on a play by a customer below level 2, and writes a sorted set and a
// stream; late plays go to a stream of their own.
const redisJob = `name: redis
version: r1
lookups:
  - name: customer
    key: "customer:{user}"
    fields: {id: int, name: string, level: int}
    load: {file: customers.csv, key: "customer:{id}"}
rules:
  - name: low
    when: customer.level < 2
    target: out
    payload: '{"who": customer.name}'
targets:
  - name: out
    writes:
      - type: sorted_set
        key: "seen:{user}"
        member: track
        score: ts
      - type: stream
        key: "q"
        fields: [user, track, who, rule, rule_version]
  - name: late
    type: stream
    key: "late:{user}"
    fields: [user, late_by_ms]
`

func TestRedisEndToEnd(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	ctx := context.Background()
	j, err := Parse("testdata/job.yaml", []byte(withBase(redisJob)), Options{})
	if err != nil {
		t.Fatal(err)
	}

	sums, err := j.LoadReference(ctx, rdb, enrich.LoadConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || sums[0].Loaded != 2 || sums[0].Skipped != 1 {
		t.Fatalf("LoadReference: %+v, want 2 rows loaded and the bad level skipped", sums)
	}
	if got := rdb.HGetAll(ctx, prefix+"customer:1").Val(); !reflect.DeepEqual(got, map[string]string{"id": "1", "name": "Ann", "level": "1"}) {
		t.Errorf("customer:1 = %v (columns that are not fields of the lookup are not loaded)", got)
	}

	b, err := j.Build(BuildConfig{Redis: rdb, Prefix: prefix, Clock: stream.NewManualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := b.Operators(stream.PartitionID{})
	if err != nil {
		t.Fatal(err)
	}
	startOps(t, j, ops...)
	plays := []stream.Event{
		play(j, 1, "1", 7, t0, 1),                    // Ann, level 1: fires
		play(j, 2, "2", 7, t0.Add(time.Second), 1),   // Bob, level 3
		play(j, 3, "9", 7, t0.Add(2*time.Second), 1), // unknown customer: passed on, no firing
		play(j, 4, "1", 8, t0.Add(3*time.Second), 1), // Ann again
	}
	em := process(t, ops, plays, t0.Add(3*time.Second))
	if want := []string{"low>out", "low>out"}; !reflect.DeepEqual(targetsOf(em), want) {
		t.Fatalf("emissions %q, want %q", targetsOf(em), want)
	}
	r := b.Router()
	if err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second write of the same emissions is a duplicate
		if err := r.Write(ctx, em); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	zs := rdb.ZRangeWithScores(ctx, prefix+"seen:1", 0, -1).Val()
	if len(zs) != 2 || zs[0].Member != "7" || int64(zs[0].Score) != t0.UnixMilli() || zs[1].Member != "8" {
		t.Errorf("seen:1 = %v", zs)
	}
	xs := rdb.XRange(ctx, prefix+"q", "-", "+").Val()
	if len(xs) != 2 {
		t.Fatalf("q has %d entries, want 2 (the replay adds nothing)", len(xs))
	}
	want := map[string]any{"user": "1", "track": "7", "who": "Ann", "rule": "low", "rule_version": "r1"}
	if !reflect.DeepEqual(xs[0].Values, want) {
		t.Errorf("q entry %v, want %v", xs[0].Values, want)
	}
	if tc := b.Targets()["out"]; tc.Written != 2 || tc.Duplicates != 2 {
		t.Errorf("target counts %+v, want 2 written, 2 duplicates", tc)
	}

	// A late play: written to the late target with how far behind the
	// watermark it was.
	wm := t0.Add(time.Hour)
	late := b.LateSink(func() int64 { return wm.UnixNano() })
	if late == nil {
		t.Fatal("no LateSink with a late target")
	}
	if err := late.Write(ctx, []stream.Event{play(j, 5, "2", 7, t0.Add(59*time.Minute), 1)}); err != nil {
		t.Fatal(err)
	}
	if err := late.(stream.Flusher).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ls := rdb.XRange(ctx, prefix+"late:2", "-", "+").Val()
	if len(ls) != 1 || ls[0].Values["late_by_ms"] != strconv.Itoa(60_000) || ls[0].Values["user"] != "2" {
		t.Errorf("late:2 = %v, want one entry with late_by_ms 60000", ls)
	}
	if err := late.Close(ctx); err != nil {
		t.Error(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Error(err)
	}
}
