package targets_test

import (
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

func TestBatcher(t *testing.T) {
	clk := stream.NewManualClock(t0)
	b := targets.NewBatcher(targets.BatchPolicy{Count: 3, Bytes: 100, Period: time.Second}, clk)
	if b.UntilNext() >= 0 || b.Due() {
		t.Fatal("empty batch is due")
	}
	if b.Add(10) || b.Add(10) {
		t.Fatal("full too early")
	}
	clk.Advance(400 * time.Millisecond)
	if b.UntilNext() != 600*time.Millisecond || b.Due() {
		t.Fatalf("UntilNext = %v", b.UntilNext())
	}
	clk.Advance(600 * time.Millisecond)
	if !b.Due() || b.UntilNext() != 0 {
		t.Fatal("not due after the period")
	}
	if !b.Add(10) || b.Count() != 3 {
		t.Fatal("count limit not reached")
	}
	b.Reset()
	if !b.Add(100) {
		t.Fatal("byte limit not reached")
	}
}

func TestBackoffDelay(t *testing.T) {
	b := targets.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}.WithDefaults()
	want := []time.Duration{10, 20, 40, 50, 50}
	for i, w := range want {
		if d := b.Delay(i + 1); d != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", i+1, d, w*time.Millisecond)
		}
	}
}
