package targets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// inOrder returns the outputs of inputs [from, to) of one origin in input
// order (stream.Event.Seq): one per input, two for every third.
func inOrder(o *stream.Origin, from, to int) []stream.Event {
	var evs []stream.Event
	for i := from; i < to; i++ {
		rules := []string{"upgrade_ad"}
		if i%3 == 0 {
			rules = append(rules, "second_ad")
		}
		for _, r := range rules {
			ev := emission("ads", r, i)
			ev.Origin, ev.Seq = o, int64(i+1)
			evs = append(evs, ev)
		}
	}
	return evs
}

// putInputs writes evs about per at a time, never splitting the outputs of
// one input (the runner hands a sink what a batch emitted in one Write).
func putInputs(t *testing.T, s *targets.RedisSink, evs []stream.Event, per int) {
	t.Helper()
	for len(evs) > 0 {
		n := min(per, len(evs))
		for n < len(evs) && evs[n].Seq == evs[n-1].Seq {
			n++
		}
		if err := s.Write(context.Background(), evs[:n]); err != nil {
			t.Fatal(err)
		}
		evs = evs[n:]
	}
}

// xids returns the IDs of the entries of key, checking that none repeats.
func xids(t *testing.T, rdb redis.UniversalClient, key string) map[string]bool {
	t.Helper()
	xs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, x := range xs {
		id := x.Values["rule"].(string) + ":" + x.Values["event_id"].(string)
		if ids[id] {
			t.Errorf("%s written twice", id)
		}
		ids[id] = true
	}
	return ids
}

// Outputs in input order carry no marker: a replay by the next owner of
// the partition from its checkpoint writes only what the crashed one had
// not, and what stays in Redis is one hash per partition. On one Redis
// through plain transactions, and through the write script.
func TestSeqReplayWritesEachOutputOnce(t *testing.T) {
	t.Run("transactions", func(t *testing.T) { testSeqReplay(t, false) })
	t.Run("script", func(t *testing.T) { testSeqReplay(t, true) })
}

func testSeqReplay(t *testing.T, noTx bool) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		const key = "job/plays/0"
		originSink := func(t *testing.T, rdb redis.UniversalClient, px string) *targets.RedisSink {
			return originSink(t, rdb, px, func(c *targets.Config) { c.NoTransactions = noTx })
		}
		a := originSink(t, rdb, px)
		putInputs(t, a, inOrder(stream.NewOrigin(key, 1, 20), 20, 70), 25)
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		// A crashed; B restores the checkpoint at 20 and replays 20..99.
		b := originSink(t, rdb, px)
		putInputs(t, b, inOrder(stream.NewOrigin(key, 2, 20), 20, 100), 7)
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		want := len(inOrder(stream.NewOrigin(key, 2, 20), 20, 100))
		if ids := xids(t, rdb, px+"q:ads"); len(ids) != want {
			t.Fatalf("%d distinct entries, want %d", len(ids), want)
		}
		if st := b.Stats(); st.Duplicates != int64(len(inOrder(stream.NewOrigin(key, 2, 20), 20, 70))) {
			t.Errorf("the replay skipped %d, want the %d written before", st.Duplicates, len(inOrder(stream.NewOrigin(key, 2, 20), 20, 70)))
		}
		if m := markers(t, rdb, px); len(m) != 0 {
			t.Errorf("marker sets %v, want none", m)
		}
		keys, err := testredis.Keys(ctx, rdb, px+"done:*")
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Errorf("state keys %v, want the partition's one (its target key is in one slot)", keys)
		}
	})
}

// A zombie's writes in input order are refused as its markers' are.
func TestSeqZombieWritesAreRefused(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		zombie, owner := originSink(t, rdb, px), originSink(t, rdb, px)
		putInputs(t, zombie, inOrder(stream.NewOrigin("job/plays/3", 4, 10), 10, 20), 10)
		if err := zombie.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		putInputs(t, owner, inOrder(stream.NewOrigin("job/plays/3", 5, 10), 10, 30), 10)
		if err := owner.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := zombie.Write(ctx, inOrder(stream.NewOrigin("job/plays/3", 4, 10), 20, 40)); err != nil {
			t.Fatal(err)
		}
		if err := zombie.Flush(ctx); !errors.Is(err, targets.ErrFenced) {
			t.Fatalf("zombie's flush: %v, want ErrFenced", err)
		}
		if n, want := len(xids(t, rdb, px+"q:ads")), len(inOrder(nil, 10, 30)); n != want {
			t.Fatalf("%d entries, want the owner's %d", n, want)
		}
	})
}

// A write that fails (the key holds another type) leaves the high-water
// mark at the last event written: the chunks pipelined after it apply
// nothing, and once the key is fixed, sending again writes every event
// once, skipping none.
func TestSeqFailedWriteIsNotSkipped(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		o := stream.NewOrigin("job/plays/1", 1, -1)
		s := originSink(t, rdb, px)
		putInputs(t, s, inOrder(o, 0, 10), 10)
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Del(ctx, px+"q:ads").Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Set(ctx, px+"q:ads", "not a stream", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, inOrder(o, 10, 40)); err != nil {
			t.Fatal(err)
		}
		err := s.Flush(ctx)
		if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
			t.Fatalf("flush onto a string: %v, want WRONGTYPE", err)
		}
		if err := rdb.Del(ctx, px+"q:ads").Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n, want := len(xids(t, rdb, px+"q:ads")), len(inOrder(o, 10, 40)); n != want {
			t.Fatalf("%d entries after the retry, want %d", n, want)
		}
		// A restart (a later epoch) replaying from before the failure
		// writes nothing twice.
		r := originSink(t, rdb, px)
		putInputs(t, r, inOrder(stream.NewOrigin("job/plays/1", 2, -1), 0, 45), 10)
		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n, want := len(xids(t, rdb, px+"q:ads")), len(inOrder(o, 10, 45)); n != want {
			t.Fatalf("%d entries after the replay, want %d", n, want)
		}
	})
}

// The outputs of one input may come in any order (the rules that fired);
// an input that goes back is refused, loudly, not skipped.
func TestSeqOrder(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		o := stream.NewOrigin("job/plays/2", 1, -1)
		s := originSink(t, rdb, px)
		evs := inOrder(o, 0, 1) // two outputs of input 0
		evs[0], evs[1] = evs[1], evs[0]
		putInputs(t, s, evs, 10)
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(xids(t, rdb, px+"q:ads")); n != 2 {
			t.Fatalf("%d entries, want 2", n)
		}
		err := s.Write(ctx, inOrder(o, 5, 6))
		if err == nil {
			err = s.Write(ctx, inOrder(o, 4, 5))
		}
		if err == nil || !strings.Contains(err.Error(), "is not after the last event written") {
			t.Fatalf("an input going back: %v", err)
		}
	})
}

// A write of the event's ID (IDField) writes the ID, not the sequence key
// the chunk carries, on one Redis and on a cluster.
func TestSeqWritesTheEventID(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		s, err := targets.NewRedis(rdb, targets.Config{Name: "ads", MarkerPrefix: px + "done:",
			Writes: []targets.Write{{Op: targets.OpStream, Key: px + "q:ads", IDField: "id"}}})
		if err != nil {
			t.Fatal(err)
		}
		evs := inOrder(stream.NewOrigin("job/plays/5", 1, -1), 0, 10)
		putInputs(t, s, evs, 4)
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		xs, err := rdb.XRange(ctx, px+"q:ads", "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, x := range xs {
			got[x.Values["id"].(string)] = true
		}
		for _, ev := range evs {
			if !got[ev.ID] {
				t.Errorf("no entry with id %q (got %v)", ev.ID, got)
			}
		}
	})
}

// Two sinks that write one partition under the same epoch (a restart that
// kept it): the one whose mark is stale finds it moved, reads it again and
// skips what the other wrote.
func TestSeqStaleMarkIsReadAgain(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		const key = "job/plays/6"
		a, b := originSink(t, rdb, px), originSink(t, rdb, px)
		putInputs(t, a, inOrder(stream.NewOrigin(key, 1, -1), 0, 10), 10)
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		putInputs(t, b, inOrder(stream.NewOrigin(key, 1, -1), 0, 20), 10)
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		putInputs(t, a, inOrder(stream.NewOrigin(key, 1, -1), 10, 30), 10)
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n, want := len(xids(t, rdb, px+"q:ads")), len(inOrder(nil, 0, 30)); n != want {
			t.Fatalf("%d entries, want %d", n, want)
		}
	})
}
