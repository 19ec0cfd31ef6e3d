package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// A cart and then silence: with IdleAdvance, the absence fires at the
// first tick past its deadline on the (manual) wall clock (a purchase at
// exactly the deadline would still count), though no event follows;
// without it, only at the end of the input.
func TestIdleInputDecidesAbsence(t *testing.T) {
	schema := stream.MustSchema("shop", stream.Field{Name: "user", Kind: stream.KindString}, stream.Field{Name: "kind", Kind: stream.KindString})
	is := func(kind string) window.Predicate {
		return func(ev *stream.Event) (bool, error) { return ev.Get("kind").Str() == kind, nil }
	}
	for _, c := range []struct {
		name     string
		advance  time.Duration
		firesAt  time.Duration // processing time after the cart, 0: not before the end
		ticksFor time.Duration
	}{
		{"idle advance", 2 * time.Second, 46 * time.Second, time.Minute},
		{"off", 0, 0, time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			abs, err := window.NewAbsence(window.AbsenceConfig{PatternConfig: window.PatternConfig{Name: "abandoned",
				KeyBy: []string{"user"}, Within: 45 * time.Second}, Start: is("cart"), End: is("purchase")})
			require.NoError(t, err)
			t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			clock := stream.NewManualClock(t0)
			src := stream.NewChanSource("shop")
			fired := make(chan time.Time, 4)
			sink := stream.SinkFunc(func(_ context.Context, evs []stream.Event) error {
				for range evs {
					fired <- clock.Now()
				}
				return nil
			})
			p := stream.New("shop", stream.Config{OutOfOrderness: 2 * time.Minute, IdleAdvance: c.advance, TickInterval: time.Second,
				FlushInterval: time.Hour, Clock: clock, MaxAhead: -1})
			p.From(src).Via(abs).To(sink)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			src.C <- stream.Batch{Events: []stream.Event{{Key: "u1", Time: t0.UnixNano(), Schema: schema,
				Fields: []stream.Value{stream.String("u1"), stream.String("cart")}, Pos: stream.Position{Source: "shop"}}}}
			// The cart is taken in (the watermark moves) before time passes.
			require.Eventually(t, func() bool { return p.Stats().Watermark != stream.MinWatermark }, 10*time.Second, time.Millisecond)
			// A tick per second of processing time; the absence is written
			// by the tick at its deadline (sink writes are synchronous).
			for s := time.Duration(0); s < c.ticksFor; s += time.Second {
				clock.Advance(time.Second)
				if c.firesAt > 0 && s+time.Second == c.firesAt {
					select {
					case at := <-fired:
						require.Equal(t, t0.Add(c.firesAt), at)
					case <-ctx.Done():
						t.Fatalf("the absence did not fire at its deadline: %+v", p.Stats())
					}
				}
			}
			close(src.C)
			require.NoError(t, <-done)
			if c.firesAt == 0 {
				require.Len(t, fired, 1, "fired at the end of the input")
			} else {
				require.Empty(t, fired)
			}
		})
	}
}
