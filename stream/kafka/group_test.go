package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// eventLog is an ordered record of hook calls shared by consumers.
type eventLog struct {
	mu  sync.Mutex
	log []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.log = append(l.log, s)
	l.mu.Unlock()
}

func (l *eventLog) index(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Index(l.log, s)
}

// hooks records OnAssign and OnRevoke calls of one consumer.
type hooks struct {
	name     string
	shared   *eventLog
	assigned chan int32
	revoked  chan int32
}

func newHooks(name string, shared *eventLog) *hooks {
	return &hooks{name: name, shared: shared, assigned: make(chan int32, 64), revoked: make(chan int32, 64)}
}

func (h *hooks) install(cfg *SourceConfig) {
	cfg.OnAssign = func(_ context.Context, _ string, p int32) (int64, bool, error) {
		h.record("assign", p)
		h.assigned <- p
		return 0, false, nil
	}
	cfg.OnRevoke = func(_ context.Context, _ string, p int32) error {
		h.record("revoke", p)
		h.revoked <- p
		return nil
	}
}

func (h *hooks) record(what string, p int32) {
	if h.shared != nil {
		h.shared.add(fmt.Sprintf("%s %s %d #%d", h.name, what, p, h.count(what, p)))
	}
}

// count returns how many times what happened to p before in this consumer.
func (h *hooks) count(what string, p int32) int {
	n := 0
	for {
		if h.shared.index(fmt.Sprintf("%s %s %d #%d", h.name, what, p, n)) < 0 {
			return n
		}
		n++
	}
}

// collect receives n partitions from ch.
func collect(ctx context.Context, t *testing.T, ch <-chan int32, n int, what string) []int32 {
	t.Helper()
	var got []int32
	for len(got) < n {
		select {
		case p := <-ch:
			got = append(got, p)
		case <-ctx.Done():
			t.Fatalf("%s: got %v, want %d partitions: %v", what, got, n, ctx.Err())
		}
	}
	slices.Sort(got)
	return got
}

// TestGroupSplitsPartitions: two consumers of one group split six
// partitions three and three; the first one's revoke hook fires for all six
// when the second joins; every event is read, each partition in order.
func TestGroupSplitsPartitions(t *testing.T) {
	const topic, group = "six", "split"
	c, brokers := newCluster(t, 6, topic)
	ps, csv := plays(6000, 3)
	produce(t, brokers, topic, csv[:len(csv)/2])
	ctx := testCtx(t, 40*time.Second)
	notify := make(chan struct{}, 1)

	var shared eventLog
	ha, hb := newHooks("A", &shared), newHooks("B", &shared)
	cfgA := testConfig(brokers, topic, group)
	ha.install(&cfgA)
	a := newSource(t, cfgA)
	ra := startReader(ctx, a, notify)
	if got := collect(ctx, t, ha.assigned, 6, "first assignment of A"); len(got) != 6 {
		t.Fatalf("A assigned %v", got)
	}

	cfgB := testConfig(brokers, topic, group)
	hb.install(&cfgB)
	b := newSource(t, cfgB)
	rb := startReader(ctx, b, notify)
	// A gives up all six (eager rebalance), then each gets three.
	if got := collect(ctx, t, ha.revoked, 6, "revocation of A"); !slices.Equal(got, []int32{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("A revoked %v", got)
	}
	pa := collect(ctx, t, ha.assigned, 3, "second assignment of A")
	pb := collect(ctx, t, hb.assigned, 3, "assignment of B")
	all := slices.Sorted(slices.Values(append(slices.Clone(pa), pb...)))
	if !slices.Equal(all, []int32{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("split %v + %v is not the six partitions", pa, pb)
	}
	// The group moved on only after A's OnRevoke: B's OnAssign of each
	// partition comes after A gave it up.
	for _, p := range pb {
		rev, asg := shared.index(fmt.Sprintf("A revoke %d #0", p)), shared.index(fmt.Sprintf("B assign %d #0", p))
		if rev < 0 || asg < 0 || rev > asg {
			t.Fatalf("partition %d: A revoke at %d, B assign at %d: %v", p, rev, asg, shared.log)
		}
	}
	if _, err := c.WaitGroupStable(ctx, group, 2); err != nil {
		t.Fatal(err)
	}
	produce(t, brokers, topic, csv[len(csv)/2:])
	waitUnique(ctx, t, len(ps), notify, ra, rb)

	evA, evB := ra.snapshot(), rb.snapshot()
	checkOrder(t, evA)
	checkOrder(t, evB)
	// After the split, B reads only its own partitions.
	for _, ev := range evB {
		if !slices.Contains(pb, ev.Pos.Partition) {
			t.Fatalf("B read partition %d, assigned %v", ev.Pos.Partition, pb)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if len(sa.Partitions) != 3 || len(sb.Partitions) != 3 || sa.Rebalances != 2 || sb.Rebalances != 1 || sa.Revocations != 6 {
		t.Fatalf("stats A %+v, B %+v", sa, sb)
	}
}

// TestRevokeAfterInFlight: OnRevoke waits for the delivered batches of the
// partition to be acknowledged, and the offset it leaves committed is the
// acknowledged one.
func TestRevokeAfterInFlight(t *testing.T) {
	const topic, group = "inflight", "revokers"
	c, brokers := newCluster(t, 1, topic)
	_, csv := plays(500, 4)
	produce(t, brokers, topic, csv)
	ctx := testCtx(t, 20*time.Second)

	cfg := testConfig(brokers, topic, group)
	cfg.RevokeTimeout = 5 * time.Second
	order := make(chan string, 4)
	cfg.OnRevoke = func(context.Context, string, int32) error {
		order <- "revoke"
		return nil
	}
	s := newSource(t, cfg)
	b, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); len(st.Partitions) != 1 || st.Partitions[0].InFlight != 1 || st.Partitions[0].Lag != 500 {
		t.Fatalf("stats with one batch in flight: %+v", st)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	select {
	case o := <-order:
		t.Fatalf("%s before the in-flight batch was acknowledged", o)
	case <-time.After(200 * time.Millisecond):
		// Close is under way and must be waiting for the batch.
	}
	order <- "ack"
	if err := b.Ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if first, second := <-order, <-order; first != "ack" || second != "revoke" {
		t.Fatalf("order %s, %s: want ack, revoke", first, second)
	}
	end := b.Events[len(b.Events)-1].Pos.Offset + 1
	if got := c.GroupInfo(group).Commits[topic][0].Offset; got != end {
		t.Fatalf("committed %d, want %d (after the acknowledged batch)", got, end)
	}
	if p := <-s.Revoked(); p != 0 {
		t.Fatalf("Revoked sent %d", p)
	}
}

// TestNackRedelivers: a nacked batch is not committed and, with
// RedeliverOnNack, comes back; batches acked after it do not move the
// offset past it.
func TestNackRedelivers(t *testing.T) {
	const topic, group = "nack", "nackers"
	c, brokers := newCluster(t, 1, topic)
	_, csv := plays(300, 5)
	produce(t, brokers, topic, csv)
	ctx := testCtx(t, 20*time.Second)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchSize = 50
	cfg.RedeliverOnNack = true
	s := newSource(t, cfg)
	first, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := first.Events[0].Pos.Offset
	if err := first.Ack(ctx, errors.New("sink down")); err != nil {
		t.Fatal(err)
	}
	// Read until the nacked offsets come back; ack everything else.
	for {
		b, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for redelivery: %v", err)
		}
		_ = b.Ack(ctx, nil)
		if len(b.Events) > 0 && b.Events[0].Pos.Offset == start {
			break
		}
	}
	if st := s.Stats(); st.Nacked != int64(len(first.Events)) || st.Rebalances < 2 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.GroupInfo(group).Commits[topic][0].Offset; got <= start {
		t.Fatalf("committed %d, want past %d after the redelivered batch was acked", got, start)
	}
}

// TestNackHoldsOffset: without RedeliverOnNack, acknowledgements after a
// nack never move the committed offset past the nacked batch.
func TestNackHoldsOffset(t *testing.T) {
	const topic, group = "hold", "holders"
	c, brokers := newCluster(t, 1, topic)
	_, csv := plays(300, 6)
	produce(t, brokers, topic, csv)
	ctx := testCtx(t, 20*time.Second)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchSize = 50
	cfg.StopAtEnd = true
	s := newSource(t, cfg)
	var nackedAt int64 = -1
	for n := 0; ; n++ {
		b, err := s.Read(ctx)
		if err != nil {
			break
		}
		var ackErr error
		if n == 1 {
			nackedAt, ackErr = b.Events[0].Pos.Offset, errors.New("failed")
		}
		_ = b.Ack(ctx, ackErr)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.GroupInfo(group).Commits[topic][0].Offset; got != nackedAt {
		t.Fatalf("committed %d, want %d (the nacked batch's start)", got, nackedAt)
	}
}
