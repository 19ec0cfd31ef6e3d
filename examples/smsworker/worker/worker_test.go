package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/smsworker/worker"
	"github.com/rulestream/rulestream/targets"
)

func run(t *testing.T, w *worker.Worker) (cancel func() error) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() error {
		stop()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("worker did not stop")
			return nil
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestWorkerSendsAndAcks(t *testing.T) {
	rdb, px := testRedis(t)
	ids := addEntries(t, rdb, px+"queue:sms", 40)
	rec := newRecorder()
	sender := worker.SenderFunc(func(_ context.Context, m worker.SMS) error {
		if m.Name == "" || m.OfferID != "offer-1" || m.Fields["rule"] != "sms_offer" {
			t.Errorf("bad SMS %+v", m)
		}
		rec.record(m.EntryID)
		return nil
	})
	w, err := worker.New(rdb, sender, worker.Config{Stream: px + "queue:sms", Consumer: "a", Block: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	waitSends(testCtx(t), t, rec.note, len(ids))
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	for _, id := range ids {
		if rec.count(id) != 1 {
			t.Errorf("entry %s sent %d times", id, rec.count(id))
		}
	}
	if p := pending(t, rdb, px+"queue:sms", "smsworker"); p != 0 {
		t.Errorf("%d entries still pending", p)
	}
	if st := w.Stats(); st.Acked != 40 || st.Sent != 40 || st.AckMiss != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestWorkerRetriesThenDeadLetters(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := testCtx(t)
	ids := addEntries(t, rdb, px+"queue:sms", 3)
	rec := newRecorder()
	tries := map[string]int{}
	sender := worker.SenderFunc(func(_ context.Context, m worker.SMS) error {
		tries[m.CustomerID]++
		switch {
		case m.CustomerID == "1001": // never works
			return errors.New("gateway down")
		case m.CustomerID == "1002" && tries["1002"] < 3: // works on the third try
			return errors.New("flaky")
		}
		rec.record(m.EntryID)
		return nil
	})
	var delays []time.Duration
	retry := targets.Backoff{Initial: time.Second, Sleep: func(_ context.Context, d time.Duration) error {
		delays = append(delays, d)
		return nil
	}}
	w, err := worker.New(rdb, sender, worker.Config{Stream: px + "queue:sms", Consumer: "a", MaxAttempts: 3,
		Retry: retry, Block: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	waitSends(ctx, t, rec.note, 2)
	// The dead entry is acked in the same transaction that writes it: wait
	// for the worker to be idle by waiting for the dead stream.
	for rdb.XLen(ctx, px+"queue:sms:dead").Val() == 0 {
		if _, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{px + "queue:sms:dead", "0"}, Block: time.Second}).Result(); err != nil && ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	_ = stop()
	dead := rdb.XRange(ctx, px+"queue:sms:dead", "-", "+").Val()
	if len(dead) != 1 || dead[0].Values["entry_id"] != ids[1] || dead[0].Values["attempts"] != "3" ||
		dead[0].Values["error"] != "gateway down" || dead[0].Values["name"] != "Customer 1" {
		t.Fatalf("dead stream = %v", dead)
	}
	if p := pending(t, rdb, px+"queue:sms", "smsworker"); p != 0 {
		t.Errorf("%d entries still pending", p)
	}
	// 1001 failed twice before giving up (2 sleeps), 1002 failed twice.
	want := []time.Duration{time.Second, 2 * time.Second, time.Second, 2 * time.Second}
	if len(delays) != len(want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	for i := range want {
		if delays[i] != want[i] {
			t.Errorf("delays %v, want %v", delays, want)
		}
	}
	if st := w.Stats(); st.Dead != 1 || st.Sent != 2 || st.Acked != 3 || st.Failures != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestWorkerPermanentErrorGoesDeadAtOnce(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := testCtx(t)
	addEntries(t, rdb, px+"queue:sms", 1)
	calls := 0
	sender := worker.SenderFunc(func(context.Context, worker.SMS) error {
		calls++
		return targets.Permanent(errors.New("invalid number"))
	})
	w, _ := worker.New(rdb, sender, worker.Config{Stream: px + "queue:sms", Consumer: "a", Block: 20 * time.Millisecond})
	stop := run(t, w)
	for rdb.XLen(ctx, px+"queue:sms:dead").Val() == 0 {
		if _, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{px + "queue:sms:dead", "0"}, Block: time.Second}).Result(); err != nil && ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	_ = stop()
	if calls != 1 {
		t.Errorf("sent %d times, want 1", calls)
	}
}

// TestWorkerDropsPoisonEntry: an entry claimed after too many deliveries
// (workers died on it) goes to the dead stream unsent.
func TestWorkerDropsPoisonEntry(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := testCtx(t)
	key := px + "queue:sms"
	ids := addEntries(t, rdb, key, 1)
	if err := rdb.XGroupCreate(ctx, key, "smsworker", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// Three deliveries to workers that never acked.
	rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "smsworker", Consumer: "dead1", Streams: []string{key, ">"}})
	for _, c := range []string{"dead2", "dead3"} {
		rdb.XClaim(ctx, &redis.XClaimArgs{Stream: key, Group: "smsworker", Consumer: c, Messages: ids})
	}
	sent := 0
	w, _ := worker.New(rdb, worker.SenderFunc(func(context.Context, worker.SMS) error { sent++; return nil }),
		worker.Config{Stream: key, Consumer: "a", MaxDeliveries: 3, ClaimMinIdle: time.Millisecond, ClaimEvery: -1, Block: 20 * time.Millisecond})
	stop := run(t, w)
	for rdb.XLen(ctx, key+":dead").Val() == 0 {
		if _, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{key + ":dead", "0"}, Block: time.Second}).Result(); err != nil && ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	_ = stop()
	dead := rdb.XRange(ctx, key+":dead", "-", "+").Val()
	if sent != 0 || len(dead) != 1 || dead[0].Values["error"] != "delivered 4 times without being acknowledged" {
		t.Fatalf("sent %d, dead %v", sent, dead)
	}
	if pending(t, rdb, key, "smsworker") != 0 {
		t.Error("poison entry still pending")
	}
}
