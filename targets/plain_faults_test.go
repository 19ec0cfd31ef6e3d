package targets_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// rvSink is a plain-path sink (single Redis, XADD only): originSink with
// batches of count, chunks of chunk, quick retries, then mod.
func rvSink(t *testing.T, rdb redis.UniversalClient, px string, count, chunk int, mod func(*targets.Config)) *targets.RedisSink {
	t.Helper()
	return originSink(t, rdb, px, func(c *targets.Config) {
		c.Batch.Count, c.ChunkSize = count, chunk
		c.Retry = targets.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}
		if mod != nil {
			mod(c)
		}
	})
}

// rvMark is the mark key (marker state) of partition key.
func rvMark(px, key string) string { return px + "done:ads:p:" + key }

// rvEntries returns the (rule:event_id, i) of the stream's entries in order.
func rvEntries(t *testing.T, rdb redis.UniversalClient, key string) ([]string, []int) {
	t.Helper()
	xs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var is []int
	for _, x := range xs {
		id := x.Values["rule"].(string) + ":" + x.Values["event_id"].(string)
		i, _ := strconv.Atoi(x.Values["event_id"].(string))
		ids = append(ids, id)
		is = append(is, i)
	}
	return ids, is
}

// rvCheck checks that the stream holds exactly want (once each), and that
// the entries of each partition (inputs [k*span, (k+1)*span)) are in input
// order.
func rvCheck(t *testing.T, rdb redis.UniversalClient, key string, want []stream.Event, span int) {
	t.Helper()
	ids, is := rvEntries(t, rdb, key)
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	var dup, miss []string
	for id, n := range seen {
		if n > 1 {
			dup = append(dup, id)
		}
	}
	wantSet := map[string]bool{}
	for _, ev := range want {
		id := ev.Fields[3].Text() + ":" + ev.Fields[2].Text()
		wantSet[id] = true
		if seen[id] == 0 {
			miss = append(miss, id)
		}
	}
	var extra []string
	for id := range seen {
		if !wantSet[id] {
			extra = append(extra, id)
		}
	}
	last := map[int]int{}
	var disorder []string
	for k, i := range is {
		p := i / span
		if l, ok := last[p]; ok && i < l {
			disorder = append(disorder, fmt.Sprintf("%s after input %d", ids[k], l))
		}
		last[p] = i
	}
	if len(dup)+len(miss)+len(extra)+len(disorder) > 0 {
		t.Errorf("%d entries, want %d: %d written twice %v; %d missing %v; %d unexpected %v; out of order %v",
			len(ids), len(want), len(dup), head(dup), len(miss), head(miss), len(extra), head(extra), head(disorder))
	}
}

func head(s []string) []string { return s[:min(len(s), 8)] }

// The mark key overwritten with a string between batches: the guard cannot
// read it and aborts the transaction all the same (it sets the key's
// expiry, a write that works on any type), so nothing is written and the
// flush fails for good; once the key is fixed (deleted), every output is
// written once, in order. (It wrote them, unchecked, then again.)
func TestPlainMarkKeyWrongType(t *testing.T) {
	for _, noTx := range []bool{false, true} {
		t.Run(fmt.Sprint("noTx=", noTx), func(t *testing.T) {
			rdb, px := testredis.Client(t, testDB)
			ctx := context.Background()
			o := stream.NewOrigin("job/plays/rv1", 1, -1)
			s := rvSink(t, rdb, px, 1000, 20, func(c *targets.Config) { c.NoTransactions = noTx })
			putInputs(t, s, inOrder(o, 0, 10), 100)
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := rdb.Set(ctx, rvMark(px, o.Key), "oops", 0).Err(); err != nil {
				t.Fatal(err)
			}
			putInputs(t, s, inOrder(o, 10, 20), 100)
			fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			err := s.Flush(fctx)
			cancel()
			t.Logf("flush onto a mark of the wrong type: %v", err)
			if err == nil {
				t.Error("a flush onto a mark of the wrong type succeeded")
			}
			ids, _ := rvEntries(t, rdb, px+"q:ads")
			if n := len(inOrder(o, 0, 10)); len(ids) != n {
				t.Errorf("the flush that failed wrote %d entries beyond the %d before it", len(ids)-n, n)
			}
			if err := rdb.Del(ctx, rvMark(px, o.Key)).Err(); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Logf("flush after fixing: %v", err)
			}
			rvCheck(t, rdb, px+"q:ads", inOrder(o, 0, 20), 1<<30)
		})
	}
}

// A guard Redis refuses (an ACL that denies scripting) would not abort the
// transaction: the sink finds it when it connects, before writing, so a
// zombie that cannot run the guard writes nothing. (A BUSY reply racing the
// end of another client's slow script between the guard and MULTI is not
// covered: the sink then reports its writes applied unchecked, and stops.)
func TestPlainGuardErrorIsNotAnAbort(t *testing.T) {
	rdb, px := testredis.Client(t, testDB)
	ctx := context.Background()
	user := strings.ReplaceAll(px, ":", "_") + "noeval"
	if err := rdb.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "~*", "+@all", "-eval", "-evalsha").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Do(context.Background(), "ACL", "DELUSER", user) })
	opt := *rdb.Options()
	opt.Username, opt.Password = user, "pw"
	zrdb := redis.NewClient(&opt)
	defer zrdb.Close()
	const key = "job/plays/rv2"
	owner := rvSink(t, rdb, px, 1000, 20, nil)
	putInputs(t, owner, inOrder(stream.NewOrigin(key, 5, -1), 0, 30), 100)
	if err := owner.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	zombie := rvSink(t, zrdb, px, 1000, 20, nil)
	putInputs(t, zombie, inOrder(stream.NewOrigin(key, 4, -1), 30, 40), 100)
	err := zombie.Flush(ctx)
	t.Logf("zombie's flush: %v", err)
	if err == nil {
		t.Error("the zombie's flush succeeded")
	}
	rvCheck(t, rdb, px+"q:ads", inOrder(nil, 0, 30), 1<<30)
}

// Flush whose context ends while two batches are in flight, then another
// Flush: every output once, in order (and no data race).
func TestPlainFlushCancelledMidFlight(t *testing.T) {
	rdb, px := testredis.Client(t, testDB)
	for round := range 30 {
		s := rvSink(t, rdb, px, 64, 16, nil)
		pk := fmt.Sprintf("job/plays/rv3-%d", round)
		o := stream.NewOrigin(pk, 1, -1)
		key := px + "q:" + strconv.Itoa(round)
		s = rvSink(t, rdb, px, 64, 16, func(c *targets.Config) { c.Writes = []targets.Write{targets.XAdd(key)} })
		evs := inOrder(o, 0, 3000)
		putInputs(t, s, evs, 13)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(300))*time.Microsecond)
		err := s.Flush(ctx)
		cancel()
		if err := s.Flush(context.Background()); err != nil {
			t.Fatalf("round %d: second flush: %v (first: %v)", round, err, err)
		}
		_ = err
		rvCheck(t, rdb, key, evs, 1<<30)
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// Several partitions interleaved in one sink, the connection killed
// again and again, and a second sink of a higher epoch taking over some of
// them midway: the owner's outputs all once and in order, the zombie's
// refused once fenced.
func TestPlainPartitionsKillsAndTakeover(t *testing.T) {
	rdb, px := testredis.Client(t, testDB)
	ctx := context.Background()
	const parts, span, n = 4, 100000, 4000
	a := rvSink(t, rdb, px, 64, 16, nil)
	b := rvSink(t, rdb, px, 64, 16, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rand.IntN(3000)) * time.Microsecond): // pace of the kills
			}
			rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
		}
	}()
	// a writes partitions 0..3 (epoch 1) for inputs [0, n); interleaved.
	var evsA [parts][]stream.Event
	oa := [parts]*stream.Origin{}
	for p := range parts {
		oa[p] = stream.NewOrigin(fmt.Sprintf("job/plays/rv4-%d", p), 1, -1)
		evsA[p] = inOrder(oa[p], p*span, p*span+n)
	}
	var bEvs [parts][]stream.Event
	done := make(chan error, 1)
	var aErr error
	go func() {
		// b takes over partitions 0 and 1 at epoch 2, replaying from input 0.
		var errs []error
		for p := range 2 {
			o := stream.NewOrigin(fmt.Sprintf("job/plays/rv4-%d", p), 2, -1)
			bEvs[p] = inOrder(o, p*span, p*span+n+500)
		}
		for k := 0; k < n+500; k += 50 {
			for p := range 2 {
				evs := bEvs[p]
				lo, hi := seqIndex(evs, p*span+k), seqIndex(evs, p*span+k+50)
				if err := b.Write(ctx, evs[lo:hi]); err != nil {
					errs = append(errs, err)
				}
			}
		}
		errs = append(errs, b.Close(ctx))
		done <- errors.Join(errs...)
	}()
	idx := [parts]int{}
	for {
		progressed := false
		for p := range parts {
			evs := evsA[p]
			if idx[p] >= len(evs) {
				continue
			}
			progressed = true
			m := min(idx[p]+1+rand.IntN(9), len(evs))
			for m < len(evs) && evs[m].Seq == evs[m-1].Seq {
				m++
			}
			if aErr != nil {
				idx[p] = len(evs)
				continue
			}
			if err := a.Write(ctx, evs[idx[p]:m]); err != nil {
				aErr = err // the runner stops at a sink's error
			}
			idx[p] = m
		}
		if !progressed {
			break
		}
	}
	if err := a.Close(ctx); err != nil && aErr == nil {
		aErr = err
	}
	bErr := <-done
	close(stop)
	wg.Wait()
	t.Logf("a (zombie of partitions 0, 1): %v; a %+v; b %+v; a pending %d", aErr, a.Stats(), b.Stats(), a.Pending())
	if bErr != nil {
		t.Fatalf("b: %v", bErr)
	}
	if aErr != nil && !errors.Is(aErr, targets.ErrFenced) {
		t.Errorf("a failed other than fenced: %v", aErr)
	}
	var want []stream.Event
	for p := range parts {
		if p < 2 {
			want = append(want, bEvs[p]...)
		} else {
			want = append(want, evsA[p]...)
		}
	}
	if aErr == nil {
		rvCheck(t, rdb, px+"q:ads", want, span)
	} else {
		rvContiguous(t, rdb, px+"q:ads", want, span)
	}
}

// seqIndex returns the index of the first event of evs with input >= i.
func seqIndex(evs []stream.Event, i int) int {
	for k, ev := range evs {
		if int(ev.Seq) > i {
			return k
		}
	}
	return len(evs)
}

// A target key turned into a string while batches are pipelined through
// Write, then fixed: every output once, in order.
func TestPlainWrongTypeMidStream(t *testing.T) {
	rdb, px := testredis.Client(t, testDB)
	ctx := context.Background()
	s := rvSink(t, rdb, px, 32, 8, nil)
	const span = 100000
	o1, o2 := stream.NewOrigin("job/plays/rv5-0", 1, -1), stream.NewOrigin("job/plays/rv5-1", 1, -1)
	e1, e2 := inOrder(o1, 0, 2000), inOrder(o2, span, span+2000)
	var werr error
	for k := 0; k < 2000 && werr == nil; k += 5 {
		if k == 400 {
			rdb.Del(ctx, px+"q:ads")
			rdb.Set(ctx, px+"q:ads", "x", 0)
		}
		for _, evs := range [][]stream.Event{e1, e2} {
			i0 := int(evs[0].Seq) - 1
			lo, hi := seqIndex(evs, i0+k), seqIndex(evs, i0+k+5)
			if werr = s.Write(ctx, evs[lo:hi]); werr != nil {
				break
			}
		}
	}
	t.Logf("write: %v; stats %+v", werr, s.Stats())
	// the runner stops; the key is fixed; the sink closed; the next run
	// replays both partitions from the start at epoch 2.
	rdb.Del(ctx, px+"q:ads")
	t.Logf("close: %v", s.Close(ctx))
	r := rvSink(t, rdb, px, 32, 8, nil)
	r1, r2 := inOrder(stream.NewOrigin(o1.Key, 2, -1), 0, 2000), inOrder(stream.NewOrigin(o2.Key, 2, -1), span, span+2000)
	for k := 0; k < 2000; k += 5 {
		for _, evs := range [][]stream.Event{r1, r2} {
			i0 := int(evs[0].Seq) - 1
			lo, hi := seqIndex(evs, i0+k), seqIndex(evs, i0+k+5)
			if err := r.Write(ctx, evs[lo:hi]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("replay stats %+v", r.Stats())
	_, is := rvEntries(t, rdb, px+"q:ads")
	t.Logf("%d entries, first input %d", len(is), is[0])
	rvContiguous(t, rdb, px+"q:ads", append(append([]stream.Event{}, e1...), e2...), span)
}

// The mark key deleted externally while batches are in flight: nothing
// of what follows is lost or written twice.
func TestPlainMarkDeletedMidStream(t *testing.T) {
	rdb, px := testredis.Client(t, testDB)
	ctx := context.Background()
	s := rvSink(t, rdb, px, 32, 8, nil)
	o := stream.NewOrigin("job/plays/rv6", 1, -1)
	evs := inOrder(o, 0, 3000)
	for k := 0; k < len(evs); {
		m := min(k+10, len(evs))
		for m < len(evs) && evs[m].Seq == evs[m-1].Seq {
			m++
		}
		if k > 0 && k%300 < 10 {
			rdb.Del(ctx, rvMark(px, o.Key))
		}
		if err := s.Write(ctx, evs[k:m]); err != nil {
			t.Fatal(err)
		}
		k = m
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rvCheck(t, rdb, px+"q:ads", evs, 1<<30)
}

// Close that fails (its context ends) leaves events pending; a second
// Close must not report success without writing them.
func TestPlainCloseTwice(t *testing.T) {
	rdb, px := testredis.Client(t, testDB)
	s := rvSink(t, rdb, px, 64, 16, nil)
	o := stream.NewOrigin("job/plays/rv7", 1, -1)
	evs := inOrder(o, 0, 3000)
	putInputs(t, s, evs, 13)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err1 := s.Close(ctx)
	err2 := s.Close(context.Background())
	t.Logf("close: %v; close again: %v; pending %d", err1, err2, s.Pending())
	if err1 != nil && err2 == nil {
		ids, _ := rvEntries(t, rdb, px+"q:ads")
		if len(ids) != len(evs) {
			t.Errorf("second Close returned nil with %d of %d written (pending %d)", len(ids), len(evs), s.Pending())
		}
	}
}

// CLIENT PAUSE while batches are in flight; a Flush with a short
// deadline returns in time, the next one writes everything once.
func TestPlainClientPause(t *testing.T) {
	rdb, px := testredis.Client(t, testDB)
	s := rvSink(t, rdb, px, 64, 16, nil)
	o := stream.NewOrigin("job/plays/rv8", 1, -1)
	evs := inOrder(o, 0, 6000)
	putInputs(t, s, evs[:len(evs)/2], 13)
	if err := rdb.Do(context.Background(), "CLIENT", "PAUSE", "700", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	putInputs(t, s, evs[len(evs)/2:], 13)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	t0 := time.Now()
	err := s.Flush(ctx)
	cancel()
	t.Logf("flush under pause: %v after %v", err, time.Since(t0))
	if time.Since(t0) > 500*time.Millisecond {
		t.Errorf("flush with a 100ms deadline took %v", time.Since(t0))
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rvCheck(t, rdb, px+"q:ads", evs, 1<<30)
}

// A target key whose type changes between the guard and EXEC: the XADD
// fails inside EXEC after the mark was raised. Those events are not written
// again, so the error must reach the caller, and the events must not be
// counted as duplicates silently.
func TestPlainExecErrorIsReported(t *testing.T) {
	rdb, px := testredis.Client(t, testDB)
	ctx := context.Background()
	s := rvSink(t, rdb, px, 16, 4, nil)
	o := stream.NewOrigin("job/plays/rv9", 1, -1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // flips the target key between a stream (or nothing) and a string
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				rdb.Set(ctx, px+"q:ads", "x", 0)
			} else {
				rdb.Del(ctx, px+"q:ads")
			}
		}
	}()
	var errs []string
	reported := 0
	evs := inOrder(o, 0, 20000)
	for k := 0; k < len(evs); {
		m := min(k+5, len(evs))
		for m < len(evs) && evs[m].Seq == evs[m-1].Seq {
			m++
		}
		if err := s.Write(ctx, evs[k:m]); err != nil {
			if n := execErrEvents(err); n > 0 {
				reported += n
			}
			if len(errs) < 3 {
				errs = append(errs, err.Error())
			}
		}
		k = m
	}
	close(stop)
	wg.Wait()
	rdb.Del(ctx, px+"q:ads")
	for range 5 {
		err := s.Flush(ctx)
		if err == nil {
			break
		}
		reported += execErrEvents(err)
	}
	st := s.Stats()
	t.Logf("stats %+v; exec errors reported for %d events; first errors %q", st, reported, errs)
	if st.Duplicates > int64(reported) {
		t.Errorf("%d events skipped as written (no replay, no other writer: their XADD failed inside EXEC), but errors named only %d", st.Duplicates, reported)
	}
}

// execErrEvents returns the number of events an error says were marked
// written although commands of some failed.
func execErrEvents(err error) int {
	msg := err.Error()
	i := strings.Index(msg, " events written, but commands of some failed")
	if i < 0 {
		return 0
	}
	j := strings.LastIndex(msg[:i], " ")
	n, _ := strconv.Atoi(msg[j+1 : i])
	return n
}

// The same, deterministic: the XADDs fail inside EXEC (the stream has used
// up its IDs) after the guard passed. The flush must fail: those events
// are not written again.
func TestPlainExecErrorDeterministic(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		t.Run(fmt.Sprint("pipelined=", pipelined), func(t *testing.T) {
			rdb, px := testredis.Client(t, testDB)
			ctx := context.Background()
			s := rvSink(t, rdb, px, 1000, 20, nil)
			o := stream.NewOrigin("job/plays/rv10", 1, -1)
			putInputs(t, s, inOrder(o, 0, 10), 100)
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			rdb.Del(ctx, px+"q:ads")
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: px + "q:ads", ID: "18446744073709551615-18446744073709551615", Values: []string{"rule", "x", "event_id", "-1"}}).Err(); err != nil {
				t.Fatal(err)
			}
			var err error
			if pipelined {
				s2 := rvSink(t, rdb, px, 20, 5, func(c *targets.Config) { c.Writes = []targets.Write{targets.XAdd(px + "q:ads")} })
				_ = s2
				for k := 10; k < 40 && err == nil; k += 3 {
					err = s.Write(ctx, inOrder(o, k, k+3))
				}
				if err == nil {
					err = s.Flush(ctx)
				}
			} else {
				putInputs(t, s, inOrder(o, 10, 20), 100)
				err = s.Flush(ctx)
			}
			m, _ := rdb.HGet(ctx, rvMark(px, o.Key), "w").Result()
			t.Logf("flush: %v; stats %+v; mark %s", err, s.Stats(), m)
			if err == nil {
				t.Errorf("the XADDs failed inside EXEC, the mark was raised past them (%s), and Flush returned nil: the events are lost silently", m)
			}
		})
	}
}

// rvContiguous checks that, per partition (inputs [k*span, (k+1)*span)),
// the entries are no event twice, in input order, and a contiguous run of
// want (in want's order): no hole.
func rvContiguous(t *testing.T, rdb redis.UniversalClient, key string, want []stream.Event, span int) {
	t.Helper()
	ids, is := rvEntries(t, rdb, key)
	seen := map[string]int{}
	for k, id := range ids {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("%s written twice", id)
		}
		if k > 0 && is[k-1]/span == is[k]/span && is[k] < is[k-1] {
			t.Errorf("%s after input %d", id, is[k-1])
		}
	}
	state := map[int]int{} // 0 before, 1 in, 2 after the run
	var holes []string
	for _, ev := range want {
		id := ev.Fields[3].Text() + ":" + ev.Fields[2].Text()
		i, _ := strconv.Atoi(ev.Fields[2].Text())
		p := i / span
		switch {
		case seen[id] > 0 && state[p] == 2:
			holes = append(holes, id)
		case seen[id] > 0:
			state[p] = 1
		case state[p] == 1:
			state[p] = 2
		}
	}
	if len(holes) > 0 {
		t.Errorf("%d entries after a hole (an event missing before them): %v", len(holes), head(holes))
	}
}
