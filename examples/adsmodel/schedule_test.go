package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// features writes customers' rows as a libSVM features file; with noise,
// the labels are drawn at random, so that no model does better than chance.
func features(t *testing.T, path string, seed uint64, customers int, noise bool) {
	t.Helper()
	d := gen.Generate(gen.Config{Seed: seed, Customers: customers, Tracks: 60, Plays: 40 * customers, MeanGap: 2 * time.Minute})
	clicks, _ := gen.Clicks(d, gen.ClickConfig{})
	clicked := map[int64]bool{}
	for _, c := range clicks {
		clicked[c.CustID] = clicked[c.CustID] || c.AdClicked == gen.Ads[0]
	}
	b := model.NewBuilder()
	for _, p := range d.Plays {
		b.AddPlay(p)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	var buf bytes.Buffer
	for _, row := range b.Rows(clicked) {
		label := row.Label
		if noise {
			label = r.IntN(2) == 1
		}
		fmt.Fprintf(&buf, "%d", map[bool]int{true: 1, false: 0}[label])
		for i, x := range row.X {
			fmt.Fprintf(&buf, " %d:%g", i+1, x)
		}
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for the run's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestScheduleInjectedClock runs -every 1h on a manual clock against the
// test Redis, changing the -features file between ticks: a good file is
// published; random labels are refused; a garbled file and a missing one
// fail; each leaves the published model as it was, with a history entry
// saying why; a good file again publishes version 2. Half a period makes
// no attempt.
func TestScheduleInjectedClock(t *testing.T) {
	rdb, prefix := testredis.Client(t, 7)
	path := filepath.Join(t.TempDir(), "features.txt")
	features(t, path, 3, 600, false)

	clock := stream.NewManualClock(t0)
	attempts := make(chan model.Attempt, 10)
	o, err := parseFlags([]string{"-every", "1h", "-features", path, "-redis", "redis://" + rdb.Options().Addr + "/7", "-prefix", prefix}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.clock, o.onAttempt = clock, func(a model.Attempt) { attempts <- a }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, &out) }()
	next := func(at time.Time, outcome string) model.Attempt {
		t.Helper()
		select {
		case a := <-attempts:
			if !a.At.Equal(at) || a.Outcome != outcome || a.ID == "" {
				t.Fatalf("attempt at %s: %s (%s), id %q; want one at %s: %s\n%s", a.At, a.Outcome, a.Reason, a.ID, at, outcome, out.String())
			}
			return a
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, out.String())
		case <-time.After(time.Minute):
			t.Fatalf("no attempt at %s\n%s", at, out.String())
		}
		return model.Attempt{}
	}
	live := func() *model.Model {
		t.Helper()
		m, err := model.Load(ctx, rdb, prefix)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	first := next(t0, model.OutcomePublished)
	if first.Version != 1 || first.Rows != 600 || first.Error == nil || !(*first.Error < 0.10) || !first.Published ||
		!strings.HasPrefix(first.Reason, "held-out error ") || !strings.HasSuffix(first.Reason, " is under the threshold 10.00%") {
		t.Fatalf("first attempt %+v", first)
	}
	published := live()
	if published.Version != 1 || !published.TrainedAt.Equal(t0) {
		t.Fatalf("model %+v", published)
	}

	// Half a period: nothing; the next attempt comes at the full period.
	features(t, path, 4, 600, true)
	clock.Advance(30 * time.Minute)
	clock.Advance(30 * time.Minute)
	refused := next(t0.Add(time.Hour), model.OutcomeRefused)
	if refused.Published || refused.Version != 0 || refused.Error == nil || *refused.Error < 0.10 ||
		refused.Reason != fmt.Sprintf("held-out error %.2f%% is not under the threshold 10.00%%", *refused.Error*100) {
		t.Fatalf("refused attempt %+v", refused)
	}

	if err := os.WriteFile(path, []byte("1 1:0.5 2:0.5\nclicked 1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	garbled := next(t0.Add(2*time.Hour), model.OutcomeFailed)
	if garbled.Error != nil || garbled.Rows != 0 || !strings.HasPrefix(garbled.Reason, "read data: ") || !strings.Contains(garbled.Reason, `label "clicked" is not 0 or 1`) {
		t.Fatalf("garbled file's attempt %+v", garbled)
	}

	if err := os.WriteFile(path, []byte("1 1:0.5 2:0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	tooFew := next(t0.Add(3*time.Hour), model.OutcomeFailed)
	if tooFew.Rows != 1 || !strings.HasPrefix(tooFew.Reason, "train: model: too few rows to split: 1 rows") {
		t.Fatalf("one-row attempt %+v", tooFew)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	missing := next(t0.Add(4*time.Hour), model.OutcomeFailed)
	if !strings.HasPrefix(missing.Reason, "read data: open "+path) {
		t.Fatalf("missing file's attempt %+v", missing)
	}
	// None of them touched the published model.
	if m := live(); m.Version != 1 || m.Weights != published.Weights || m.TestError != published.TestError {
		t.Fatalf("after the failures the model is %+v, want %+v", m, published)
	}

	features(t, path, 5, 800, false)
	clock.Advance(time.Hour)
	second := next(t0.Add(5*time.Hour), model.OutcomePublished)
	if m := live(); second.Version != 2 || m.Version != 2 || m.TestRows != 240 || !m.TrainedAt.Equal(t0.Add(5*time.Hour)) {
		t.Fatalf("second publish %+v, model %+v", second, m)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	if !strings.Contains(out.String(), "stopped after 6 attempts") {
		t.Errorf("output:\n%s", out.String())
	}
	// The history holds every attempt, in order, as the hook saw them.
	hist, err := model.ReadHistory(context.Background(), rdb, prefix, 100)
	if err != nil || len(hist) != 6 {
		t.Fatalf("history: %d entries, %v", len(hist), err)
	}
	for i, want := range []model.Attempt{first, refused, garbled, tooFew, missing, second} {
		if h := hist[i]; h.ID != want.ID || !h.At.Equal(want.At) || h.Outcome != want.Outcome || h.Reason != want.Reason || h.Rows != want.Rows || h.Version != want.Version {
			t.Errorf("history %d: %+v, want %+v", i, h, want)
		}
	}
}

func TestEveryFlag(t *testing.T) {
	if _, err := parseFlags([]string{"-every", "-1h"}, io.Discard); err == nil || err.Error() != "-every -1h0m0s is negative" {
		t.Errorf("-every -1h: %v", err)
	}
	if o, err := parseFlags([]string{"-every", "90m"}, io.Discard); err != nil || o.every != 90*time.Minute {
		t.Errorf("-every 90m: %+v %v", o, err)
	}
}

// A one-shot run records its attempt too: a refused model in the history,
// and the run's error.
func TestOnceRecordsHistory(t *testing.T) {
	rdb, prefix := testredis.Client(t, 7)
	o, _ := parseFlags([]string{"-customers", "300", "-threshold", "0.001", "-redis", "redis://" + rdb.Options().Addr + "/7", "-prefix", prefix}, io.Discard)
	o.clock = stream.NewManualClock(t0)
	var out bytes.Buffer
	err := run(context.Background(), o, &out)
	if err == nil || !strings.Contains(err.Error(), "is not under the threshold 0.10%") {
		t.Fatalf("run: %v", err)
	}
	hist, herr := model.ReadHistory(context.Background(), rdb, prefix, 10)
	if herr != nil || len(hist) != 1 || hist[0].Outcome != model.OutcomeRefused || hist[0].Rows != 300 || !hist[0].At.Equal(t0) {
		t.Fatalf("history %+v %v\n%s", hist, herr, &out)
	}
	if n, _ := rdb.Exists(context.Background(), prefix+model.Key).Result(); n != 0 {
		t.Error("a refused model was published")
	}
}
