package job

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

// A sorted_set write takes lt (ZADD LT), not together with nx, and no
// other write type takes it.
func TestWriteLTKey(t *testing.T) {
	es := parseErrors(t, withBase("targets:\n  - name: out\n    type: sorted_set\n    key: z\n    member: user\n    nx: true\n    lt: true\n"))
	want := `job.yaml:7:9: targets[0].lt: give nx or lt, not both (nx keeps the first score, lt the lowest)`
	if len(es) != 1 || es[0].Error() != want {
		t.Errorf("errors %q, want %q", es, want)
	}
	es = parseErrors(t, withBase("targets:\n  - name: out\n    type: stream\n    key: q\n    lt: true\n"))
	want = `job.yaml:5:5: targets[0]: unknown field "lt" (want name, type, writes, key, fields, maxlen, id_field)`
	if len(es) != 1 || es[0].Error() != want {
		t.Errorf("errors %q, want %q", es, want)
	}
	j, err := Parse("job.yaml", []byte(withBase("targets:\n  - name: out\n    type: sorted_set\n    key: z\n    member: track\n    score: ts\n    lt: true\n")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w := j.Targets[0].Writes[0]; !w.LT || w.NX {
		t.Errorf("write %+v, want LT", w)
	}
	var b strings.Builder
	if err := j.Print(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "lt: true") {
		t.Errorf("Print does not state lt:\n%s", b.String())
	}
}

// lt: true reaches Redis as ZADD LT: the emissions of one member written in
// any order leave its lowest score.
func TestRedisWriteLT(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	ctx := context.Background()
	if err := rdb.Do(ctx, "ZADD", prefix+"probe", "LT", 1, "m").Err(); err != nil {
		t.Skipf("this Redis has no ZADD LT (6.2 or later): %v", err)
	}
	src := withBase("targets:\n  - name: out\n    type: sorted_set\n    key: \"seen:{user}\"\n    member: track\n    score: ts\n    lt: true\n")
	j, err := Parse("job.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
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
		play(j, 1, "1", 7, t0.Add(2*time.Second), 2),
		play(j, 2, "1", 7, t0, 2),
		play(j, 3, "1", 7, t0.Add(time.Second), 2),
	}
	em := process(t, ops, plays, t0.Add(time.Minute))
	if len(em) != 3 {
		t.Fatalf("%d emissions, want 3", len(em))
	}
	// Latest first: each write lowers the score.
	slices.SortFunc(em, func(a, b stream.Event) int { return cmp.Compare(b.Time, a.Time) })
	r := b.Router()
	if err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ev := range em {
		if err := r.Write(ctx, []stream.Event{ev}); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	zs := rdb.ZRangeWithScores(ctx, prefix+"seen:1", 0, -1).Val()
	if len(zs) != 1 || zs[0].Member != "7" || int64(zs[0].Score) != t0.UnixMilli() {
		t.Errorf("seen:1 = %v, want 7 at %d", zs, t0.UnixMilli())
	}
}
