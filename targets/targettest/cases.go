package targettest

import (
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

func (h *Harness) events(idx ...int) []stream.Event {
	target := h.Target
	if target == "" {
		target = "ads"
	}
	out := make([]stream.Event, len(idx))
	for k, i := range idx {
		out[k] = Event(target, i)
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func write(t *testing.T, ctx context.Context, h Harness, idx []int, per int) {
	t.Helper()
	for len(idx) > 0 {
		n := min(per, len(idx))
		if err := h.Sink.Write(ctx, h.events(idx[:n]...)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		idx = idx[n:]
	}
	if f, ok := h.Sink.(stream.Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
	}
}

// check compares what the sink stored with the events of want (distinct).
func check(t *testing.T, ctx context.Context, h Harness, want []int) {
	t.Helper()
	recs, err := h.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	byID := map[string]int{}
	for _, r := range recs {
		byID[r.ID]++
	}
	for _, i := range want {
		id := Event("", i).ID
		if byID[id] == 0 {
			t.Errorf("event %s was not stored", id)
		}
		if h.Idempotent && byID[id] > 1 {
			t.Errorf("event %s stored %d times by an idempotent sink", id, byID[id])
		}
	}
	if len(byID) != len(want) {
		t.Errorf("stored %d distinct IDs, want %d", len(byID), len(want))
	}
	if h.Idempotent && len(recs) != len(want) {
		t.Errorf("stored %d records, want %d", len(recs), len(want))
	}
	for _, r := range recs {
		var i int
		for _, w := range want {
			if Event("", w).ID == r.ID {
				i = w
			}
		}
		for name, v := range Expected(i) {
			if got, ok := r.Fields[name]; ok && got != v {
				t.Errorf("record %s: field %s = %q, want %q", r.ID, name, got, v)
			}
		}
	}
	if h.Ordered {
		last := -1
		first := map[string]bool{}
		for _, r := range recs {
			if first[r.ID] {
				continue // a re-delivery of a non-idempotent sink
			}
			first[r.ID] = true
			for k, w := range want {
				if Event("", w).ID == r.ID {
					if k < last {
						t.Errorf("record %s out of order", r.ID)
					}
					last = k
				}
			}
		}
	}
}

func testWriteFlush(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	if err := h.Sink.Write(ctx, nil); err != nil {
		t.Fatalf("empty Write: %v", err)
	}
	want := seq(0, 100)
	write(t, ctx, h, want, 7)
	check(t, ctx, h, want)
	_ = h.Sink.Close(ctx)
}

func testIdempotency(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	want := seq(0, 50)
	// Every event twice, interleaved, and repeats within one Write.
	var idx []int
	for i := 0; i < 50; i += 5 {
		idx = append(idx, i, i+1, i+2, i, i+3, i+4, i+1, i+2, i+3, i+4)
	}
	write(t, ctx, h, idx, 13)
	write(t, ctx, h, want, 9) // a replay after the first flush
	check(t, ctx, h, want)
	_ = h.Sink.Close(ctx)
}

func testRetry(t *testing.T, h Harness) {
	if h.Fail == nil {
		t.Skip("the harness cannot inject failures")
	}
	ctx := ctxFor(t)
	write(t, ctx, h, seq(0, 10), 10)
	h.Fail(3)
	write(t, ctx, h, seq(10, 40), 10)
	check(t, ctx, h, seq(0, 40))
	_ = h.Sink.Close(ctx)
}

func testClose(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	if err := h.Sink.Write(ctx, h.events(seq(0, 5)...)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := h.Sink.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	check(t, ctx, h, seq(0, 5))
	if err := h.Sink.Write(ctx, h.events(5)); err == nil {
		t.Error("Write after Close succeeded")
	}
}
