package window

import (
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

var earlySchema = stream.MustSchema("e", stream.Field{Name: "id", Kind: stream.KindInt}, stream.Field{Name: "user", Kind: stream.KindInt})

func earlyEv(id, user int64, at time.Duration) stream.Event {
	return stream.Event{Time: int64(at), Schema: earlySchema, Pos: stream.Position{Source: "t", Offset: id},
		Fields: []stream.Value{stream.Int(id), stream.Int(user)}}
}

// checkHeld checks the bookkeeping's counts against its contents.
func checkHeld(t *testing.T, x *early) {
	t.Helper()
	held, live, slots := 0, 0, 0
	for s := range int32(len(x.ks)) {
		if !x.live(s) {
			if k := &x.ks[s]; !k.empty() {
				t.Fatalf("a free slot holds %d entries", len(k.pool)+len(k.held))
			}
			continue
		}
		live++
		k := &x.ks[s]
		held += len(k.pool) + len(k.held)
		slots += len(k.held)
		for _, e := range k.pool {
			if e.ev >= 0 {
				slots++
			}
		}
	}
	if held != x.held || live != x.keys.live || slots != int(x.evs.n)-len(x.evs.free) {
		t.Fatalf("held %d (counted %d), keys %d (counted %d), events %d (counted %d)", held, x.held, live, x.keys.live,
			slots, int(x.evs.n)-len(x.evs.free))
	}
}

// The early bookkeeping stays within MaxKeys and MaxPending, is pruned as
// the watermark passes (all of it once the watermark is Within past the
// last event, before the final watermark), and a Shed drops it.
func TestEarlyBookkeepingBounded(t *testing.T) {
	ctx := context.Background()
	for _, max := range []int{50, 1 << 20} {
		c, err := NewCountWithin(CountWithinConfig{Name: "c", KeyBy: []string{"user"}, Count: 3, Within: 10 * time.Minute,
			Dedup: "id", Early: true, MaxKeys: max, MaxPending: 2 * max})
		if err != nil {
			t.Fatal(err)
		}
		var out stream.Emitter
		id := int64(0)
		for round := range 200 {
			at := time.Duration(round) * time.Second
			var in []stream.Event
			for u := range 300 {
				id++
				in = append(in, earlyEv(id, int64((u*7+round)%500), at))
			}
			if err := c.Process(ctx, in, &out); err != nil {
				t.Fatal(err)
			}
			if err := c.Advance(ctx, int64(at-30*time.Second), &out); err != nil {
				t.Fatal(err)
			}
			checkHeld(t, c.early)
			if c.early.keys.live > max || c.early.held > 2*max {
				t.Fatalf("max %d: %d keys, %d entries", max, c.early.keys.live, c.early.held)
			}
		}
		if st := c.Stats(); (max == 50) != (st.Evictions > 0) || max > 50 && st.Early == 0 {
			t.Fatalf("max %d: stats %+v", max, st)
		}
		if max == 50 {
			continue
		}
		live := c.early.keys.live
		for i := range 100 { // the sweep goes round the keys
			if err := c.Advance(ctx, int64(time.Hour+time.Duration(i)), &out); err != nil {
				t.Fatal(err)
			}
		}
		checkHeld(t, c.early)
		if c.early.keys.live != 0 || c.early.held != 0 || live == 0 {
			t.Fatalf("after the watermark passed: %d keys of %d, %d entries", c.early.keys.live, live, c.early.held)
		}
	}
}

func TestEarlyShed(t *testing.T) {
	ctx := context.Background()
	n, err := NewNewValue(NewValueConfig{PatternConfig: PatternConfig{Name: "n", KeyBy: []string{"user"}, Within: time.Hour,
		Dedup: "id"}, Field: "id", Early: true})
	if err != nil {
		t.Fatal(err)
	}
	var out stream.Emitter
	var in []stream.Event
	for i := range 100 {
		in = append(in, earlyEv(int64(i), int64(i%10), time.Duration(i)*time.Second))
	}
	if err := n.Process(ctx, in, &out); err != nil {
		t.Fatal(err)
	}
	if n.early.keys.live != 100 || n.Stats().Early != 100 {
		t.Fatalf("%d pairs, stats %+v", n.early.keys.live, n.Stats())
	}
	n.Shed(0.5)
	if err := n.Advance(ctx, stream.MinWatermark+1, &out); err != nil {
		t.Fatal(err)
	}
	checkHeld(t, n.early)
	// Half the buffer was decided (and confirmed) early, half the event-time
	// state's 50 pairs dropped, then half the early bookkeeping's 100.
	if st := n.Stats(); n.early.keys.live != 50 || st.Evictions != 50+25+50 || st.Confirmed != 50 || st.Corrections != 0 {
		t.Fatalf("%d pairs left, stats %+v", n.early.keys.live, st)
	}
}
