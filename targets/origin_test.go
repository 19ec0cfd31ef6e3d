package targets_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// originSink writes XADDs (a target needing markers) under px, its config
// changed by mods.
func originSink(t *testing.T, rdb redis.UniversalClient, px string, mods ...func(*targets.Config)) *targets.RedisSink {
	t.Helper()
	cfg := targets.Config{Name: "ads", MarkerPrefix: px + "done:",
		Writes: []targets.Write{targets.XAdd(px + "q:ads")},
		Batch:  targets.BatchPolicy{Count: 50, Period: -1}, ChunkSize: 20}
	for _, mod := range mods {
		mod(&cfg)
	}
	s, err := targets.NewRedis(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stamped returns emissions i in [from, to) of one origin.
func stamped(o *stream.Origin, from, to int) []stream.Event {
	var evs []stream.Event
	for i := from; i < to; i++ {
		ev := emission("ads", "upgrade_ad", i)
		ev.Origin = o
		evs = append(evs, ev)
	}
	return evs
}

// put writes evs, per at a time, without closing the sink.
func put(t *testing.T, s *targets.RedisSink, evs []stream.Event, per int) {
	t.Helper()
	for len(evs) > 0 {
		n := min(per, len(evs))
		if err := s.Write(context.Background(), evs[:n]); err != nil {
			t.Fatal(err)
		}
		evs = evs[n:]
	}
}

// markers returns the members of every marker set under px, by key.
func markers(t *testing.T, rdb redis.UniversalClient, px string) map[string]int64 {
	t.Helper()
	keys, err := testredis.Keys(context.Background(), rdb, px+"done:*")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, k := range keys {
		if rdb.Type(context.Background(), k).Val() == "set" {
			out[k] = rdb.SCard(context.Background(), k).Val()
		}
	}
	return out
}

// A checkpointed partition's events are marked per generation: a replay
// from the last checkpoint saved writes nothing again, however old; the
// markers of generations below it go, so the markers held are those written
// since the last checkpoint, not every event ever written.
func TestOriginMarkersFollowTheCheckpoints(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		o := stream.NewOrigin("job/plays/0", 1, -1)
		s := originSink(t, rdb, px)
		put(t, s, stamped(o, 0, 100), 30)
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		// A crash before any checkpoint: a new process replays everything.
		replay := originSink(t, rdb, px)
		put(t, replay, stamped(stream.NewOrigin("job/plays/0", 2, -1), 0, 150), 30)
		if err := replay.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rdb.XLen(ctx, px+"q:ads").Val(); n != 150 {
			t.Fatalf("%d entries after a replay, want 150", n)
		}
		if st := replay.Stats(); st.Written != 50 || st.Duplicates != 100 {
			t.Fatalf("replay: %+v, want 50 written, 100 duplicates", st)
		}
		// Checkpoints saved at 150 and then 300: the markers of the
		// generations below go, those since the last stay.
		o = stream.NewOrigin("job/plays/0", 2, 150)
		s = originSink(t, rdb, px)
		put(t, s, stamped(o, 150, 300), 30)
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		o2 := o.Next(300)
		o.Saved(300)
		put(t, s, stamped(o2, 300, 320), 30)
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var total int64
		for k, n := range markers(t, rdb, px) {
			if !strings.HasSuffix(k, ":300") {
				t.Errorf("marker set %s (%d) outlived its generation", k, n)
			}
			total += n
		}
		if total != 20 {
			t.Fatalf("%d markers held, want the 20 written since the checkpoint at 300", total)
		}
		// The final checkpoint saved, Close drops what is left.
		o2.Saved(320)
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if m := markers(t, rdb, px); len(m) != 0 {
			t.Fatalf("markers after the final checkpoint: %v", m)
		}
		if n := rdb.XLen(ctx, px+"q:ads").Val(); n != 320 {
			t.Fatalf("%d entries, want 320", n)
		}
	})
}

// A zombie, a consumer whose partition was assigned again since it took
// it, cannot write once the new owner wrote: its call writes nothing and
// fails with ErrFenced, not retried.
func TestOriginZombieWritesAreRefused(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		zombie, owner := originSink(t, rdb, px), originSink(t, rdb, px)
		put(t, zombie, stamped(stream.NewOrigin("job/plays/3", 4, 10), 0, 10), 10)
		if err := zombie.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		put(t, owner, stamped(stream.NewOrigin("job/plays/3", 5, 10), 0, 20), 10)
		if err := owner.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := zombie.Write(ctx, stamped(stream.NewOrigin("job/plays/3", 4, 10), 20, 30)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := zombie.Flush(ctx)
		if !errors.Is(err, targets.ErrFenced) || !strings.Contains(err.Error(), "this consumer is a zombie") {
			t.Fatalf("zombie's flush: %v, want ErrFenced", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("a fenced write was retried")
		}
		if n := rdb.XLen(ctx, px+"q:ads").Val(); n != 20 {
			t.Fatalf("%d entries, want the owner's 20", n)
		}
		// Another partition is not fenced by this one's owner.
		other := originSink(t, rdb, px)
		put(t, other, stamped(stream.NewOrigin("job/plays/4", 1, -1), 100, 105), 10)
		if err := other.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// Two crashes in a row whose checkpoints fall at different offsets: A
// (epoch 1, restored at 100) writes the outputs of inputs 100..199, its
// checkpoint at 150 taken but not saved; B (epoch 2) restores 100, saves a
// checkpoint at 130 and crashes at 140; C (epoch 3) replays from 130. A's
// generation 100 holds outputs of inputs up to 149, beyond B's checkpoint:
// it is still needed by a replay from 130, and nothing is written twice.
func TestOriginReplayAfterTwoCrashes(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		const key = "job/plays/7"
		a := originSink(t, rdb, px)
		oa := stream.NewOrigin(key, 1, 100)
		put(t, a, stamped(oa, 100, 150), 30)
		put(t, a, stamped(oa.Next(150), 150, 200), 30)
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		b := originSink(t, rdb, px)
		ob := stream.NewOrigin(key, 2, 100)
		put(t, b, stamped(ob, 100, 130), 30)
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		ob.Saved(130)
		put(t, b, stamped(ob.Next(130), 130, 140), 30)
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		c := originSink(t, rdb, px)
		put(t, c, stamped(stream.NewOrigin(key, 3, 130), 130, 200), 30)
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rdb.XLen(ctx, px+"q:ads").Val(); n != 100 {
			t.Fatalf("%d entries, want the 100 outputs once each", n)
		}
		// The replay took the crashed consumers' markers over: what is
		// held is C's generation, the 70 outputs since its checkpoint.
		var total int64
		for k, n := range markers(t, rdb, px) {
			if !strings.HasSuffix(k, ":3:130") {
				t.Errorf("marker set %s (%d) outlived the replay", k, n)
			}
			total += n
		}
		if total != 70 {
			t.Fatalf("%d markers held, want 70", total)
		}
	})
}
