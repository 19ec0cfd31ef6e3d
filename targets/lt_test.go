package targets_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

func TestWriteLTValidation(t *testing.T) {
	for _, tc := range []struct {
		w    targets.Write
		want string
	}{
		{targets.Write{Op: targets.OpSortedSet, Key: "z", Member: "m", LT: true}, ""},
		{targets.Write{Op: targets.OpSortedSet, Key: "z", Member: "m", NX: true, LT: true}, "write ZADD z: NX and LT are exclusive"},
		{targets.Write{Op: targets.OpStream, Key: "s", LT: true}, "write XADD s: Score, NX and LT apply to sorted sets only"},
		{targets.Write{Op: targets.OpSet, Key: "s", Member: "m", NX: true}, "write SADD s: Score, NX and LT apply to sorted sets only"},
	} {
		err := tc.w.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%+v: got %v, want %q", tc.w, err, tc.want)
		}
	}
}

// scored is an interest emission of member track for customer 1000 with
// score at, under its own ID.
func scored(id string, track, at int64) stream.Event {
	return stream.Event{Key: "1000", Time: t0.UnixNano(), Schema: emissionSchema, Target: "interest", ID: id,
		Fields: []stream.Value{stream.Int(1000), stream.Int(track), stream.Int(0), stream.String("interest_list"),
			stream.String("v1"), stream.Int(at)}}
}

func zscores(t *testing.T, rdb *redis.Client, key string) string {
	t.Helper()
	var parts []string
	for _, z := range rdb.ZRangeWithScores(context.Background(), key, 0, -1).Val() {
		parts = append(parts, fmt.Sprintf("%v=%v", z.Member, z.Score))
	}
	return strings.Join(parts, " ")
}

func writeSorted(t *testing.T, rdb *redis.Client, w targets.Write, markers string, evs []stream.Event) targets.Stats {
	t.Helper()
	ctx := context.Background()
	s, err := targets.NewRedis(rdb, targets.Config{Name: "z", Writes: []targets.Write{w}, MarkerPrefix: markers})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return s.Stats()
}

// ZADD LT against the real Redis: whatever the order the results arrive
// in, each member ends with its lowest score (NX, the control, keeps the
// first written); a replay is skipped by the markers, and a replay the
// markers no longer remember changes nothing either, LT being idempotent
// by value.
func TestRedisSortedSetLTKeepsTheLowestScore(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := context.Background()
	if v := rdb.Do(ctx, "ZADD", px+"probe", "LT", 1, "m").Err(); v != nil {
		t.Skipf("this Redis has no ZADD LT (6.2 or later): %v", v)
	}
	// Three completions of track 7 (scores 300, 100, 200) and one of 9.
	evs := []stream.Event{scored("a", 7, 300), scored("b", 7, 100), scored("c", 9, 50), scored("d", 7, 200)}
	const want = "9=50 7=100"
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 6 {
		key := fmt.Sprintf("%sinterest:%d", px, run)
		w := targets.Write{Op: targets.OpSortedSet, Key: key, Member: "track_id", Score: "at", LT: true}
		marks := fmt.Sprintf("%sm%d:", px, run)
		order := append([]stream.Event(nil), evs...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		if st := writeSorted(t, rdb, w, marks, order); st.Written != 4 {
			t.Fatalf("run %d: stats %+v", run, st)
		}
		if got := zscores(t, rdb, key); got != want {
			t.Fatalf("run %d (order %v): %s, want %s", run, ids(order), got, want)
		}
		// The same IDs again: the markers skip them.
		if st := writeSorted(t, rdb, w, marks, order); st.Written != 0 || st.Duplicates != 4 {
			t.Fatalf("run %d: replay stats %+v", run, st)
		}
		// A replay whose markers are gone (new marker keys) is applied, and
		// changes nothing.
		if st := writeSorted(t, rdb, w, marks+"again:", order); st.Written != 4 {
			t.Fatalf("run %d: unmarked replay stats %+v", run, st)
		}
		if got := zscores(t, rdb, key); got != want {
			t.Fatalf("run %d: after the unmarked replay %s, want %s", run, got, want)
		}
	}
	// The control: NX keeps whichever came first.
	nx := targets.Write{Op: targets.OpSortedSet, Key: px + "nx", Member: "track_id", Score: "at", NX: true}
	writeSorted(t, rdb, nx, px+"mnx:", evs)
	if got := zscores(t, rdb, px+"nx"); got != "9=50 7=300" {
		t.Fatalf("NX: %s", got)
	}
}

func ids(evs []stream.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}
