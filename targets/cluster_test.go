package targets_test

import (
	"context"
	"fmt"
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
	// An event counts in the slot of its first write (the sorted set's),
	// applied already, unless that slot is the stream's (its markers lost).
	lost := int64(0)
	for _, ev := range evs {
		if targets.KeySlot(fmt.Sprintf("%sinterest:%d", px, ev.Fields[0].Int())) == targets.KeySlot(px+interestStream) {
			lost++
		}
	}
	if st := again.Stats(); st.Written != lost || st.Duplicates != 300-lost {
		t.Errorf("stats %+v, want %d written", st, lost)
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

// TestClusterKeepsFailedSlot: on a cluster a chunk that fails (WRONGTYPE)
// fails alone: the other slots' chunks are applied, its events stay
// pending, named in the error, and are written once when it is fixed.
func TestClusterKeepsFailedSlot(t *testing.T) {
	rdb, px := testredis.ClusterClient(t)
	ctx := context.Background()
	// Hash tags fix the slots, whatever the prefix: {xbad} 9860, {xok} 14192.
	rdb.Set(ctx, px+"{xbad}", "x", 0)
	s, err := targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd(px + "{{x{rule}}}")},
		MarkerPrefix: px + "m:", ChunkSize: 2, Batch: targets.BatchPolicy{Count: 100, Period: -1}})
	if err != nil {
		t.Fatal(err)
	}
	evs := []stream.Event{emission("ads", "bad", 3), emission("ads", "ok", 1), emission("ads", "ok", 2)}
	if err := s.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	err = s.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), `event "bad:1003:3"`) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("flush into a string key: %v", err)
	}
	if n := s.Pending(); n != 1 {
		t.Fatalf("pending %d after the failed flush, want 1 (bad:3)", n)
	}
	rdb.Del(ctx, px+"{xbad}")
	if err := s.Write(ctx, []stream.Event{emission("ads", "ok", 4)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if a, b := rdb.XLen(ctx, px+"{xok}").Val(), rdb.XLen(ctx, px+"{xbad}").Val(); a != 3 || b != 1 {
		t.Fatalf("ok stream %d entries (want 3), bad stream %d (want 1)", a, b)
	}
	if st := s.Stats(); st.Written != 4 {
		t.Errorf("stats %+v, want 4 written", st)
	}
}
