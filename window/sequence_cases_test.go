package window_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// kinds is a step: the event's kind is one of ks.
func kinds(ks ...int64) window.Predicate {
	return func(ev *stream.Event) (bool, error) {
		k := ev.Get("kind").Int()
		for _, x := range ks {
			if k == x {
				return true, nil
			}
		}
		return false, nil
	}
}

// sevAt is an event of user with kind at minute m (id is the event id).
func sevAt(id, user, kind, m int64) stream.Event {
	return sev{id: id, user: user, kind: kind, name: "n", t: base + m*int64(time.Minute)}.event(id)
}

func seqCfg(within time.Duration, steps ...window.Predicate) window.SequenceConfig {
	return window.SequenceConfig{PatternConfig: window.PatternConfig{Name: "seq", KeyBy: []string{"user"},
		Within: within, Dedup: "event_id"}, Steps: steps}
}

// seqRun feeds evs in one batch, then the final watermark, and returns the
// results as seqLines and the stats.
func seqRun(t *testing.T, cfg window.SequenceConfig, evs ...stream.Event) ([]string, window.Stats) {
	t.Helper()
	op := startSeq(t, cfg)
	var out stream.Emitter
	ctx := context.Background()
	if err := op.Process(ctx, evs, &out); err != nil {
		t.Fatal(err)
	}
	if err := op.Advance(ctx, stream.MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	st := op.Stats()
	if st.ActiveKeys != 0 || st.Pending != 0 {
		t.Fatalf("state left after the final watermark: %+v", st)
	}
	return seqLines(t, out.Events()), st
}

func TestSequenceWithinIsInclusive(t *testing.T) {
	got, _ := seqRun(t, seqCfg(10*time.Minute, kinds(0), kinds(1)),
		sevAt(1, 1, 0, 0), sevAt(2, 1, 1, 10), // exactly Within: a match
		sevAt(3, 2, 0, 0), sevAt(4, 2, 1, 11), // Within + 1m: none
		sevAt(5, 3, 0, 0), sevAt(6, 3, 0, 5), sevAt(7, 3, 1, 15), // the first start expired, the second matches
	)
	diff(t, "within", got, []string{"1 0..10 n=2 by=2 steps 1@0 2@10", "3 5..15 n=2 by=7 steps 6@5 7@15"})
}

// Events of equal time are decided in order of their dedup value: a step
// may take an event of the same time as the previous step's, if it comes
// after it in that order.
func TestSequenceTiesByDedupValue(t *testing.T) {
	got, _ := seqRun(t, seqCfg(time.Minute, kinds(0), kinds(1)),
		sevAt(2, 1, 1, 0), sevAt(1, 1, 0, 0), // A (id 1) then B (id 2), delivered the other way round
		sevAt(3, 2, 1, 0), sevAt(4, 2, 0, 0), // B (id 3) before A (id 4): none
	)
	diff(t, "ties", got, []string{"1 0..0 n=2 by=2 steps 1@0 2@0"})
}

// The earliest-started candidate is reported, every candidate of the key is
// dropped, and the next match starts after the reported one's last event.
func TestSequenceSkipPastLastEvent(t *testing.T) {
	got, _ := seqRun(t, seqCfg(time.Hour, kinds(0), kinds(1)),
		sevAt(1, 1, 0, 0), sevAt(2, 1, 0, 1), sevAt(3, 1, 1, 2), sevAt(4, 1, 1, 3), sevAt(5, 1, 0, 4), sevAt(6, 1, 1, 5))
	diff(t, "skip", got, []string{"1 0..2 n=2 by=3 steps 1@0 3@2", "1 4..5 n=2 by=6 steps 5@4 6@5"})
}

// One event may match steps of several candidates; the reported match uses
// it once, and its Steps carry each matched event's fields.
func TestSequenceEventMatchesSeveralSteps(t *testing.T) {
	got, _ := seqRun(t, seqCfg(time.Hour, kinds(0, 1), kinds(1), kinds(1)),
		sevAt(1, 1, 0, 0), sevAt(2, 1, 1, 1), sevAt(3, 1, 1, 2), sevAt(4, 1, 1, 3))
	diff(t, "several", got, []string{"1 0..2 n=3 by=3 steps 1@0 2@1 3@2"})
}

func TestSequenceMaxMatchesDropsOldest(t *testing.T) {
	cfg := seqCfg(time.Hour, kinds(0), kinds(1))
	cfg.MaxMatches = 2
	got, st := seqRun(t, cfg, sevAt(1, 1, 0, 0), sevAt(2, 1, 0, 1), sevAt(3, 1, 0, 2), sevAt(4, 1, 1, 3))
	diff(t, "max matches", got, []string{"1 1..3 n=2 by=4 steps 2@1 4@3"})
	if st.Evictions != 1 {
		t.Fatalf("evictions %d, want 1", st.Evictions)
	}
}

// MaxKeys evicts the key whose newest candidate started first; evictions
// are logged at Warn at most once a minute of the pipeline's clock.
func TestSequenceMaxKeysEvictsAndLogs(t *testing.T) {
	var logs bytes.Buffer
	clk := stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := seqCfg(time.Hour, kinds(0), kinds(1))
	cfg.MaxKeys = 2
	op := must(window.NewSequence(cfg))
	env := stream.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Clock: clk, Schema: seqSchema}
	if err := op.Start(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out stream.Emitter
	step := func(wm int64, evs ...stream.Event) {
		t.Helper()
		if err := op.Process(ctx, evs, &out); err != nil {
			t.Fatal(err)
		}
		if err := op.Advance(ctx, wm, &out); err != nil {
			t.Fatal(err)
		}
	}
	warns := func() int { return strings.Count(logs.String(), "level=WARN") }
	min := func(m int64) int64 { return base + m*int64(time.Minute) }
	step(min(3), sevAt(1, 1, 0, 0), sevAt(2, 2, 0, 1), sevAt(3, 3, 0, 2)) // user 1 goes
	if st := op.Stats(); st.Evictions != 1 || st.ActiveKeys != 2 || warns() != 1 || !strings.Contains(logs.String(), "evictions_total=1") {
		t.Fatalf("stats %+v, log:\n%s", op.Stats(), logs.String())
	}
	step(min(5), sevAt(4, 4, 0, 3), sevAt(5, 1, 1, 4)) // user 2 goes; not logged within the minute
	if st := op.Stats(); st.Evictions != 2 || warns() != 1 {
		t.Fatalf("stats %+v, log:\n%s", st, logs.String())
	}
	clk.Advance(time.Minute)
	step(min(7), sevAt(6, 3, 1, 6), sevAt(7, 4, 1, 6))
	if warns() != 2 || !strings.Contains(logs.String(), "evictions_total=2") {
		t.Fatalf("log after a minute:\n%s", logs.String())
	}
	got := seqLines(t, out.Events())
	diff(t, "max keys", got, []string{"3 2..6 n=2 by=6 steps 3@2 6@6", "4 3..6 n=2 by=7 steps 4@3 7@6"})
}

// A predicate's error or panic counts in Stats.Errors and does not match.
func TestSequencePredicateErrors(t *testing.T) {
	failing := func(ev *stream.Event) (bool, error) {
		switch ev.Get("user").Int() {
		case 1:
			return true, errors.New("no")
		case 2:
			panic("boom")
		}
		return true, nil
	}
	got, st := seqRun(t, seqCfg(time.Hour, kinds(0), failing),
		sevAt(1, 1, 0, 0), sevAt(2, 1, 1, 1), sevAt(3, 2, 0, 0), sevAt(4, 2, 1, 1), sevAt(5, 3, 0, 0), sevAt(6, 3, 1, 1))
	diff(t, "errors", got, []string{"3 0..1 n=2 by=6 steps 5@0 6@1"})
	if st.Errors != 2 {
		t.Fatalf("errors %d, want 2", st.Errors)
	}
}

func TestSequenceLateRejectedAndKeyChecks(t *testing.T) {
	ctx := context.Background()
	cfg := seqCfg(time.Hour, kinds(0), kinds(1))
	cfg.AllowedLateness = 5 * time.Minute
	op := startSeq(t, cfg)
	var out stream.Emitter
	if err := op.Advance(ctx, base+int64(20*time.Minute), &out); err != nil {
		t.Fatal(err)
	}
	far := sevAt(3, 1, 0, 0)
	far.Time = stream.MaxWatermark
	if err := op.Process(ctx, []stream.Event{sevAt(1, 1, 0, 14), sevAt(2, 1, 0, 15), far}, &out); err != nil {
		t.Fatal(err)
	}
	if st := op.Stats(); st.Late != 1 || st.Rejected != 1 || st.Pending != 1 || len(out.LateEvents()) != 1 || len(out.DeadLetters()) != 1 {
		t.Fatalf("stats %+v, %d late, %d dead", st, len(out.LateEvents()), len(out.DeadLetters()))
	}
	if err := op.Process(ctx, []stream.Event{{Time: base}}, &out); err == nil || !strings.Contains(err.Error(), "sequence seq") {
		t.Fatalf("an event without a schema: %v", err)
	}
	other := stream.MustSchema("other", stream.Field{Name: "event_id", Kind: stream.KindInt})
	if err := must(window.NewSequence(cfg)).Start(ctx, stream.Env{Schema: other}); err == nil || !strings.Contains(err.Error(), "user") {
		t.Fatalf("a schema without the key field: %v", err)
	}
	cfg.KeyBy, cfg.Dedup = []string{"event_id"}, "id"
	if err := must(window.NewSequence(cfg)).Start(ctx, stream.Env{Schema: other}); err == nil || !strings.Contains(err.Error(), "dedup") {
		t.Fatalf("a schema without the dedup field: %v", err)
	}
}

// A key goes once the release point is more than Within past its newest
// start; at exactly Within it can still complete.
func TestSequenceStateExpires(t *testing.T) {
	ctx := context.Background()
	op := startSeq(t, seqCfg(10*time.Minute, kinds(0), kinds(1)))
	var out stream.Emitter
	min := func(m int64) int64 { return base + m*int64(time.Minute) }
	if err := op.Process(ctx, []stream.Event{sevAt(1, 1, 0, 0), sevAt(2, 2, 0, 0), sevAt(3, 2, 0, 1), sevAt(4, 3, 2, 0)}, &out); err != nil {
		t.Fatal(err)
	}
	_ = op.Advance(ctx, min(10), &out)
	if st := op.Stats(); st.ActiveKeys != 2 || st.Expired != 0 {
		t.Fatalf("at Within: %+v", st) // user 3 matched no step: no state
	}
	_ = op.Process(ctx, []stream.Event{sevAt(5, 1, 1, 10)}, &out)
	_ = op.Advance(ctx, min(11), &out)
	if st := op.Stats(); st.ActiveKeys != 1 || st.Emitted != 1 {
		t.Fatalf("after user 1's match: %+v", st)
	}
	_ = op.Advance(ctx, min(11)+1, &out)
	if st := op.Stats(); st.ActiveKeys != 0 || st.Expired != 1 || st.Emitted != 1 {
		t.Fatalf("past Within of user 2's newest start: %+v", st)
	}
}

// MaxPending decides the oldest half early (counted as evictions); events
// older than those are then late.
func TestSequenceMaxPending(t *testing.T) {
	ctx := context.Background()
	cfg := seqCfg(time.Hour, kinds(0), kinds(1))
	cfg.MaxPending = 4
	op := startSeq(t, cfg)
	var out stream.Emitter
	_ = op.Process(ctx, []stream.Event{sevAt(1, 1, 0, 0), sevAt(2, 1, 1, 1), sevAt(3, 1, 0, 2), sevAt(4, 1, 1, 3), sevAt(5, 1, 0, 4)}, &out)
	if st := op.Stats(); st.Evictions == 0 || st.Pending > 4 || st.Emitted == 0 {
		t.Fatalf("stats %+v", st)
	}
	_ = op.Process(ctx, []stream.Event{sevAt(6, 1, 1, 0)}, &out)
	if st := op.Stats(); st.Late != 1 {
		t.Fatalf("an event older than the early decisions: %+v", st)
	}
}

func TestSequenceConfigErrors(t *testing.T) {
	ok := seqCfg(time.Minute, kinds(0), kinds(1))
	for name, mod := range map[string]func(c *window.SequenceConfig){
		"no name":      func(c *window.SequenceConfig) { c.Name = "" },
		"no key":       func(c *window.SequenceConfig) { c.KeyBy = nil },
		"no within":    func(c *window.SequenceConfig) { c.Within = 0 },
		"one step":     func(c *window.SequenceConfig) { c.Steps = c.Steps[:1] },
		"nil step":     func(c *window.SequenceConfig) { c.Steps[1] = nil },
		"lateness":     func(c *window.SequenceConfig) { c.AllowedLateness = -1 },
		"max matches":  func(c *window.SequenceConfig) { c.MaxMatches = 1 << 16 },
		"max keys":     func(c *window.SequenceConfig) { c.MaxKeys = 1 << 31 },
		"steps (1025)": func(c *window.SequenceConfig) { c.Steps = make([]window.Predicate, 1025) },
	} {
		c := ok
		c.Steps = append([]window.Predicate(nil), ok.Steps...)
		mod(&c)
		if _, err := window.NewSequence(c); err == nil || !strings.Contains(err.Error(), "sequence") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := window.NewSequence(ok); err != nil {
		t.Fatal(err)
	}
}
