package worker_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/smsworker/worker"
)

// redisSender records each send in Redis (list <prefix>sent) and notifies
// (list <prefix>notify), so that sends of a killed process are counted.
// Each send takes a little while, like a gateway call.
func redisSender(rdb *redis.Client, px string, latency time.Duration) worker.Sender {
	return worker.SenderFunc(func(ctx context.Context, m worker.SMS) error {
		time.Sleep(latency) // the gateway's latency, not a wait for a condition
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.RPush(ctx, px+"sent", m.EntryID)
			p.RPush(ctx, px+"notify", m.EntryID)
			return nil
		})
		return err
	})
}

// TestChildWorker is the worker process that TestWorkerKilledMidBatch kills;
// it runs only when re-executed with SMSWORKER_CHILD_PREFIX set.
func TestChildWorker(t *testing.T) {
	px := os.Getenv("SMSWORKER_CHILD_PREFIX")
	if px == "" {
		t.Skip("runs only as the subprocess of TestWorkerKilledMidBatch")
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("RULESTREAM_TEST_REDIS"), DB: 2})
	w, err := worker.New(rdb, redisSender(rdb, px, 2*time.Millisecond),
		worker.Config{Stream: px + "queue:sms", Consumer: "child", Count: 10, Block: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Run(context.Background()) // until killed
}

func blpop(ctx context.Context, t *testing.T, rdb *redis.Client, key string, n int) {
	t.Helper()
	for range n {
		if err := rdb.BLPop(ctx, 10*time.Second, key).Err(); err != nil {
			t.Fatalf("waiting for sends: %v", err)
		}
	}
}

// TestWorkerKilledMidBatch kills a worker process in the middle of a batch
// and starts another: every entry is sent at least once, acknowledged
// exactly once, and none is lost.
func TestWorkerKilledMidBatch(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := testCtx(t)
	const total = 300
	ids := addEntries(t, rdb, px+"queue:sms", total)

	child := exec.Command(os.Args[0], "-test.run=^TestChildWorker$", "-test.v")
	child.Env = append(os.Environ(), "SMSWORKER_CHILD_PREFIX="+px)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	blpop(ctx, t, rdb, px+"notify", 95) // mid-batch: batches are 10 entries
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	groups, err := rdb.XInfoGroups(ctx, px+"queue:sms").Result()
	if err != nil || len(groups) != 1 {
		t.Fatalf("groups %v %v", groups, err)
	}
	delivered, pendingAtKill := groups[0].EntriesRead, groups[0].Pending
	ackedByChild := delivered - pendingAtKill
	if pendingAtKill == 0 {
		t.Fatalf("the child had nothing pending when killed (delivered %d)", delivered)
	}
	t.Logf("killed the child after %d deliveries, %d of them pending", delivered, pendingAtKill)

	w, err := worker.New(rdb, redisSender(rdb, px, 0), worker.Config{Stream: px + "queue:sms", Consumer: "second",
		ClaimMinIdle: time.Millisecond, ClaimEvery: -1, Block: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	sent := map[string]int{}
	for _, id := range rdb.LRange(ctx, px+"sent", 0, -1).Val() {
		sent[id]++ // sent by the child
	}
	for len(sent) < total {
		v, err := rdb.BLPop(ctx, 10*time.Second, px+"notify").Result()
		if err != nil {
			t.Fatalf("waiting for sends (%d of %d distinct): %v", len(sent), total, err)
		}
		sent[v[1]]++
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	all := map[string]int{}
	for _, id := range rdb.LRange(ctx, px+"sent", 0, -1).Val() {
		all[id]++
	}
	resent := 0
	for _, id := range ids {
		if all[id] == 0 {
			t.Errorf("entry %s never sent", id)
		}
		resent += all[id] - 1
	}
	if p := pending(t, rdb, px+"queue:sms", "smsworker"); p != 0 {
		t.Errorf("%d entries still pending", p)
	}
	st := w.Stats()
	if st.AckMiss != 0 || st.Acked != total-ackedByChild {
		t.Errorf("second worker acked %d (misses %d), want %d: every entry acked exactly once", st.Acked, st.AckMiss, total-ackedByChild)
	}
	if int64(resent) > pendingAtKill {
		t.Errorf("%d entries sent twice, but only %d were pending at the kill", resent, pendingAtKill)
	}
	if st.Claimed < pendingAtKill {
		t.Errorf("claimed %d, want the %d pending of the dead worker", st.Claimed, pendingAtKill)
	}
	t.Logf("second worker: %+v; sent twice: %d", st, resent)
}
