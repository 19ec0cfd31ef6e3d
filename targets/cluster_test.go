package targets_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// TestClusterSplitsEventsBySlot: on a Redis Cluster an event whose writes
// are in different slots (interest:<customer> and queue:interest) is
// written, counted once, and skipped on a replay; each slot's part is
// marked on its own, so a part lost (its key and markers deleted, as a
// failed-over master that had not replicated them would) is written again
// by a replay while the other part is not written twice.
func TestClusterSplitsEventsBySlot(t *testing.T) {
	rdb, px := testredis.ClusterClient(t)
	ctx := context.Background()
	sink := func() *targets.RedisSink {
		s, err := targets.NewRedis(rdb, targets.Config{Name: "interest", MarkerPrefix: px + "m:",
			Batch: targets.BatchPolicy{Count: 64}, Writes: []targets.Write{
				{Op: targets.OpSortedSet, Key: px + interestKey, Member: "track_id", Score: "at", NX: true},
				{Op: targets.OpStream, Key: px + interestStream, Fields: emissionFields},
			}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var evs []stream.Event
	for i := range 300 {
		evs = append(evs, emission("interest", "interest", i))
	}
	first := sink()
	writeAll(t, first, evs, 50)
	if st := first.Stats(); st.Written != 300 || st.Duplicates != 0 {
		t.Fatalf("first run: %+v, want 300 written", st)
	}
	want := digest(t, rdb, px+"interest")
	if n := rdb.XLen(ctx, px+interestStream).Val(); n != 300 {
		t.Fatalf("queue:interest has %d entries, want 300", n)
	}

	replay := sink()
	writeAll(t, replay, evs, 70)
	if st := replay.Stats(); st.Written != 0 || st.Duplicates != 300 {
		t.Fatalf("replay: %+v, want 300 duplicates", st)
	}
	if got := digest(t, rdb, px+"interest"); got != want {
		t.Fatal("a replay changed Redis")
	}

	// Lose the stream's part: the stream and the markers of its slot.
	base := targets.MarkerBase(true, px+"m:", "interest", px+interestStream)
	keys, err := testredis.Keys(ctx, rdb, base+"*")
	if err != nil || len(keys) == 0 {
		t.Fatalf("no marker set under %s (%v)", base, err)
	}
	for _, k := range append(keys, px+interestStream) {
		rdb.Del(ctx, k)
	}
	again := sink()
	writeAll(t, again, evs, 300)
	if got := digest(t, rdb, px+"interest"); got != want {
		t.Fatalf("the lost part was not written again exactly once:\n%.1000s\nwant\n%.1000s", got, want)
	}
	if st := again.Stats(); st.Written != 0 || st.Duplicates != 300 {
		t.Errorf("stats %+v: an event counts in the slot of its first write (the sorted set's), applied already", st)
	}
}

// TestClusterRefusesTaggedMarkerPrefix: the marker keys' hash tag follows
// MarkerPrefix, so a "{" in it would take its place.
func TestClusterRefusesTaggedMarkerPrefix(t *testing.T) {
	rdb, px := testredis.ClusterClient(t)
	_, err := targets.NewRedis(rdb, targets.Config{MarkerPrefix: "{m}:", Writes: []targets.Write{targets.XAdd(px + "q")}})
	if err == nil {
		t.Fatal("no error")
	}
}

// TestClusterHashTaggedKeysOneCall: keys given one hash tag ("{{" and "}}"
// are literal braces in a Key) are one slot, so an event's writes to them
// are one script call, atomic together.
func TestClusterHashTaggedKeysOneCall(t *testing.T) {
	rdb, px := testredis.ClusterClient(t)
	ctx := context.Background()
	s, err := targets.NewRedis(rdb, targets.Config{Name: "tagged", MarkerPrefix: px + "m:", Writes: []targets.Write{
		{Op: targets.OpSortedSet, Key: px + "{{c{customer_id}}}:interest", Member: "track_id", Score: "at", NX: true},
		{Op: targets.OpStream, Key: px + "{{c{customer_id}}}:plays", Fields: emissionFields},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev := emission("interest", "interest", 5)
	writeAll(t, s, []stream.Event{ev}, 1)
	if st := s.Stats(); st.Written != 1 {
		t.Fatalf("stats %+v", st)
	}
	zkey, xkey := px+"{c1005}:interest", px+"{c1005}:plays"
	if rdb.ZCard(ctx, zkey).Val() != 1 || rdb.XLen(ctx, xkey).Val() != 1 {
		t.Fatalf("%s or %s not written", zkey, xkey)
	}
	base := targets.MarkerBase(true, px+"m:", "tagged", zkey)
	if keys, _ := testredis.Keys(ctx, rdb, px+"m:*"); len(keys) != 1 || !strings.HasPrefix(keys[0], base) {
		t.Fatalf("marker keys %v, want one set under %s", keys, base)
	}
}
