package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// alertN is the n-th test alert: a silence of host<n>.
func alertN(n int) metrics.Alert {
	return metrics.Alert{Source: fmt.Sprintf("/data/host%d.csv", n), Kind: metrics.AlertSilence, Observed: 0.25,
		Expected: 5, Since: t0.Add(time.Duration(n) * time.Second), At: t0.Add(time.Duration(n)*time.Second + time.Minute)}
}

// funcSink is a sink of a function.
type funcSink struct {
	name string
	send func(ctx context.Context, a metrics.Alert) error
}

func (s funcSink) Name() string                                    { return s.name }
func (s funcSink) Send(ctx context.Context, a metrics.Alert) error { return s.send(ctx, a) }

// attempt is what OnAttempt reports.
type attempt struct {
	sink    string
	a       metrics.Alert
	err     error
	retryIn time.Duration
}

// attempts returns an OnAttempt hook and the channel it reports to.
func attempts() (func(string, metrics.Alert, error, time.Duration), chan attempt) {
	ch := make(chan attempt, 100000)
	return func(s string, a metrics.Alert, err error, d time.Duration) { ch <- attempt{s, a, err, d} }, ch
}

func next(t *testing.T, ch chan attempt) attempt {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(20 * time.Second): // a guard, not a wait for the result
		t.Fatal("no attempt")
		return attempt{}
	}
}

// run starts o.Run and returns a function that stops it and returns its
// error.
func run(t *testing.T, o *alert.Outbox) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// A webhook that fails 4 times (503) gets the alert on the 5th attempt,
// after delays that double from MinBackoff up to MaxBackoff, each within
// [d/2, d]; every attempt carries the same body and Idempotency-Key.
func TestOutboxRetriesWithBackoff(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var bodies, keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies, keys = append(bodies, string(b)), append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		if calls.Add(1) <= 4 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	clock := stream.NewManualClock(t0)
	hook, ch := attempts()
	o, err := alert.NewOutbox(alert.OutboxConfig{MinBackoff: time.Second, MaxBackoff: 4 * time.Second, Clock: clock, OnAttempt: hook},
		alert.NewWebhook(srv.URL+"/alerts", srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	run(t, o)
	o.Add(alertN(1))
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		at := next(t, ch)
		if at.err == nil || !strings.Contains(at.err.Error(), "503") || alert.IsPermanent(at.err) {
			t.Fatalf("attempt %d: %v, want a 503 to retry", i+1, at.err)
		}
		if at.retryIn < want/2 || at.retryIn > want {
			t.Errorf("retry %d in %s, want within [%s, %s]", i+1, at.retryIn, want/2, want)
		}
		if st := o.Stats()["webhook"]; st.Pending != 1 || st.Sent != 0 {
			t.Errorf("while retrying: %+v", st)
		}
		clock.Advance(at.retryIn)
	}
	if at := next(t, ch); at.err != nil || at.retryIn != 0 {
		t.Fatalf("5th attempt: %+v", at)
	}
	if st := o.Stats()["webhook"]; st != (metrics.QueueStats{Sent: 1}) {
		t.Errorf("stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range bodies {
		if bodies[i] != bodies[0] || keys[i] != keys[0] || keys[0] == "" {
			t.Errorf("attempt %d: body %s key %q; the first: %s %q", i+1, bodies[i], keys[i], bodies[0], keys[0])
		}
	}
	var got metrics.Alert
	if err := json.Unmarshal([]byte(bodies[0]), &got); err != nil || got != alertN(1) {
		t.Errorf("the body %s decodes to %+v (%v), want %+v", bodies[0], got, err, alertN(1))
	}
}

// A refusal (400) is not retried: counted failed, and the next alert goes.
func TestOutboxPermanentNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "no such channel\nmore", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	hook, ch := attempts()
	o, err := alert.NewOutbox(alert.OutboxConfig{OnAttempt: hook}, alert.NewWebhook(srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	run(t, o)
	o.Add(alertN(1))
	o.Add(alertN(2))
	at := next(t, ch)
	if !alert.IsPermanent(at.err) || at.retryIn != 0 || !strings.Contains(at.err.Error(), `400 Bad Request: "no such channel"`) {
		t.Fatalf("first: %+v", at)
	}
	if at := next(t, ch); at.err != nil || at.a != alertN(2) {
		t.Fatalf("second: %+v", at)
	}
	if st := o.Stats()["webhook"]; st != (metrics.QueueStats{Sent: 1, Failed: 1}) || calls.Load() != 2 {
		t.Errorf("stats %+v after %d calls", st, calls.Load())
	}
}

// A full queue drops its oldest alerts and counts them; what is left is
// delivered in order once the sink is back.
func TestOutboxDropsOldest(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	var got []metrics.Alert // read after the attempts are seen
	sink := funcSink{"s", func(_ context.Context, a metrics.Alert) error {
		if down.Load() {
			return errors.New("down")
		}
		got = append(got, a)
		return nil
	}}
	clock := stream.NewManualClock(t0)
	hook, ch := attempts()
	o, err := alert.NewOutbox(alert.OutboxConfig{Max: 3, Clock: clock, OnAttempt: hook}, sink)
	if err != nil {
		t.Fatal(err)
	}
	run(t, o)
	o.Add(alertN(1))
	at := next(t, ch) // failed, waiting to retry
	for i := 2; i <= 10; i++ {
		o.Add(alertN(i))
	}
	if st := o.Stats()["s"]; st != (metrics.QueueStats{Dropped: 7, Pending: 3}) {
		t.Fatalf("stats %+v, want 7 dropped, 3 pending", st)
	}
	down.Store(false)
	clock.Advance(at.retryIn)
	for range 3 {
		if at := next(t, ch); at.err != nil {
			t.Fatal(at.err)
		}
	}
	if len(got) != 3 || got[0] != alertN(8) || got[1] != alertN(9) || got[2] != alertN(10) {
		t.Errorf("delivered %+v, want 8, 9, 10", got)
	}
	if st := o.Stats()["s"]; st != (metrics.QueueStats{Sent: 3, Dropped: 7}) {
		t.Errorf("stats %+v", st)
	}
}

// The alert being sent is the oldest too: dropped while in flight, it
// counts as sent if that attempt succeeds (and the next oldest is dropped
// in its stead when the queue fills again).
func TestOutboxDropsTheAlertInFlight(t *testing.T) {
	release := make(chan error)
	entered := make(chan metrics.Alert, 10)
	var got []metrics.Alert
	sink := funcSink{"s", func(_ context.Context, a metrics.Alert) error {
		entered <- a
		err := <-release
		if err == nil {
			got = append(got, a)
		}
		return err
	}}
	hook, ch := attempts()
	o, err := alert.NewOutbox(alert.OutboxConfig{Max: 2, OnAttempt: hook, Timeout: time.Minute}, sink)
	if err != nil {
		t.Fatal(err)
	}
	run(t, o)
	o.Add(alertN(1))
	<-entered
	o.Add(alertN(2))
	o.Add(alertN(3)) // drops 1, in flight
	o.Add(alertN(4)) // drops 2
	if st := o.Stats()["s"]; st != (metrics.QueueStats{Dropped: 1, Pending: 2}) {
		t.Errorf("stats %+v", st)
	}
	release <- nil
	next(t, ch)
	for range 2 {
		<-entered
		release <- nil
		next(t, ch)
	}
	if len(got) != 3 || got[0] != alertN(1) || got[1] != alertN(3) || got[2] != alertN(4) {
		t.Errorf("delivered %+v", got)
	}
	if st := o.Stats()["s"]; st != (metrics.QueueStats{Sent: 3, Dropped: 1}) {
		t.Errorf("stats %+v", st)
	}
}

// A webhook that hangs (its server never answers): Add never blocks, and
// the other sink gets every alert, in order, meanwhile. When Run's context
// ends, one last attempt bounded by Timeout and Run returns.
func TestOutboxAddNeverBlocksWhileASinkHangs(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	const n = 10000
	var mu sync.Mutex
	var got []metrics.Alert
	all := make(chan struct{})
	rec := funcSink{"rec", func(_ context.Context, a metrics.Alert) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, a)
		if len(got) == n {
			close(all)
		}
		return nil
	}}
	o, err := alert.NewOutbox(alert.OutboxConfig{Max: 2 * n, Timeout: 100 * time.Millisecond, MinBackoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond}, alert.NewWebhook(srv.URL, nil), rec)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, o)
	added := make(chan struct{})
	go func() {
		for i := range n {
			o.Add(alertN(i))
		}
		close(added)
	}()
	for _, c := range []chan struct{}{added, all} {
		select {
		case <-c:
		case <-time.After(30 * time.Second): // a guard
			t.Fatalf("stuck: %+v", o.Stats())
		}
	}
	mu.Lock()
	for i, a := range got {
		if a != alertN(i) {
			t.Fatalf("alert %d delivered is %+v", i, a)
		}
	}
	mu.Unlock()
	if st := o.Stats()["webhook"]; st.Sent != 0 || st.Pending != n {
		t.Errorf("the hanging webhook: %+v", st)
	}
	if err := stop(); err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
}

// Alerts added before Run, or waiting when its context ends, get one last
// attempt; a sink that fails then keeps them pending.
func TestOutboxFlushesWhenRunEnds(t *testing.T) {
	var got []metrics.Alert
	ok := funcSink{"ok", func(_ context.Context, a metrics.Alert) error { got = append(got, a); return nil }}
	var tries atomic.Int32
	down := funcSink{"down", func(context.Context, metrics.Alert) error { tries.Add(1); return errors.New("down") }}
	o, err := alert.NewOutbox(alert.OutboxConfig{}, ok, down)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		o.Add(alertN(i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Run(ctx); err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}
	if len(got) != 3 {
		t.Errorf("flushed %d of 3", len(got))
	}
	st := o.Stats()
	if st["ok"] != (metrics.QueueStats{Sent: 3}) || st["down"] != (metrics.QueueStats{Pending: 3}) || tries.Load() != 1 {
		t.Errorf("stats %+v after %d tries of the sink that is down, want 1", st, tries.Load())
	}
}

func TestNewOutboxErrors(t *testing.T) {
	s := funcSink{name: "a"}
	for _, c := range []struct {
		cfg   alert.OutboxConfig
		sinks []alert.Sink
		want  string
	}{
		{alert.OutboxConfig{}, []alert.Sink{s, s}, `name "a" is empty or taken`},
		{alert.OutboxConfig{}, []alert.Sink{nil}, "sink 0 is nil"},
		{alert.OutboxConfig{}, []alert.Sink{funcSink{}}, "empty"},
		{alert.OutboxConfig{Max: -1}, nil, "Max"},
		{alert.OutboxConfig{MinBackoff: time.Minute, MaxBackoff: time.Second}, nil, "exceeds MaxBackoff"},
		{alert.OutboxConfig{Timeout: -time.Second}, nil, "negative"},
	} {
		if _, err := alert.NewOutbox(c.cfg, c.sinks...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	hook, ch := attempts()
	o, err := alert.NewOutbox(alert.OutboxConfig{OnAttempt: hook},
		funcSink{"a", func(context.Context, metrics.Alert) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	run(t, o)
	o.Add(alertN(1))
	next(t, ch) // Run runs
	if err := o.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "while running") {
		t.Fatalf("second Run: %v", err)
	}
}
