package alert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

// xrange returns the entries of key as ordered field-value lists.
func xrange(t *testing.T, rdb redis.UniversalClient, key string) [][]string {
	t.Helper()
	raw, err := rdb.Do(context.Background(), "XRANGE", key, "-", "+").Slice()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, e := range raw {
		var kv []string
		for _, v := range e.([]any)[1].([]any) {
			kv = append(kv, v.(string))
		}
		out = append(out, kv)
	}
	return out
}

// The entry's fields, in order: source, kind, observed, expected, since,
// at; rates as decimals, times RFC 3339 UTC with milliseconds.
func TestRedisStreamEntry(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	key := prefix + "queue:alerts"
	s := alert.NewRedisStream(rdb, key, 0)
	if s.Name() != "redis" {
		t.Errorf("name %q", s.Name())
	}
	a := metrics.Alert{Source: "orders/7", Kind: metrics.AlertSilence, Observed: 0.0001, Expected: 12.5,
		Since: time.Date(2026, 3, 2, 13, 4, 5, 678900000, time.FixedZone("CET", 3600)), At: t0}
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"source", "orders/7", "kind", "silence", "observed", "0.0001", "expected", "12.5",
		"since", "2026-03-02T12:04:05.678Z", "at", "2026-03-02T12:00:00.000Z"}}
	if got := xrange(t, rdb, key); !reflect.DeepEqual(got, want) {
		t.Fatalf("entries %q\nwant %q", got, want)
	}
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	back, err := alert.ParseFields(msgs[0].Values)
	a.Since = a.Since.Truncate(time.Millisecond).UTC()
	if err != nil || back != a {
		t.Errorf("ParseFields: %+v, %v; want %+v", back, err, a)
	}
	if _, err := alert.ParseFields(map[string]any{"source": "x", "observed": "many"}); err == nil {
		t.Error("ParseFields of a broken entry: no error")
	}
}

// MAXLEN ~ trims; a key that is not a stream is a permanent error; a
// Redis that is not there is not.
func TestRedisStreamTrimAndErrors(t *testing.T) {
	rdb, prefix := testredis.Client(t, 0)
	ctx := context.Background()
	s := alert.NewRedisStream(rdb, prefix+"queue:alerts", 10)
	for i := range 1000 {
		if err := s.Send(ctx, alertN(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := rdb.XLen(ctx, prefix+"queue:alerts").Val(); n >= 200 {
		t.Errorf("%d entries kept with MAXLEN ~ 10", n)
	}
	rdb.Set(ctx, prefix+"str", "x", 0)
	if err := alert.NewRedisStream(rdb, prefix+"str", 0).Send(ctx, alertN(1)); !alert.IsPermanent(err) {
		t.Errorf("XADD to a string: %v, want permanent", err)
	}
	gone := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", testredis.FreePort(t)), MaxRetries: -1})
	defer gone.Close()
	if err := alert.NewRedisStream(gone, "queue:alerts", 0).Send(ctx, alertN(1)); err == nil || alert.IsPermanent(err) {
		t.Errorf("to no server: %v, want an error to retry", err)
	}
}

// Alerts survive a Redis restart: while a private redis-server is stopped
// the alerts added wait in the outbox and the webhook still gets each at
// once; once the server runs again on the same port, the entries appear
// in queue:alerts in the order they were added.
func TestAlertsSurviveRedisRestart(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	key := "queue:alerts"

	hooked := make(chan metrics.Alert, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a metrics.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hooked <- a
	}))
	defer hook.Close()

	redisOK, redisFailed := make(chan metrics.Alert, 100), make(chan error, 1)
	onAttempt := func(sink string, a metrics.Alert, err error, _ time.Duration) {
		switch {
		case sink != "redis":
		case err == nil:
			redisOK <- a
		default:
			select {
			case redisFailed <- err:
			default:
			}
		}
	}
	o, err := alert.NewOutbox(alert.OutboxConfig{MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Timeout: 2 * time.Second, OnAttempt: onAttempt},
		alert.NewRedisStream(rdb, key, 1000), alert.NewWebhook(hook.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, o)
	recv := func(ch chan metrics.Alert, want metrics.Alert, what string) {
		t.Helper()
		select {
		case got := <-ch:
			if got != want {
				t.Fatalf("%s got %+v, want %+v", what, got, want)
			}
		case <-time.After(30 * time.Second): // a guard
			t.Fatalf("%s: nothing; stats %+v", what, o.Stats())
		}
	}

	o.Add(alertN(1))
	recv(redisOK, alertN(1), "redis, before the stop")
	recv(hooked, alertN(1), "webhook, before the stop")

	srv.Stop()
	for i := 2; i <= 5; i++ {
		o.Add(alertN(i))
		recv(hooked, alertN(i), "webhook, while Redis is down")
	}
	select {
	case err := <-redisFailed:
		t.Logf("while down: %v", err)
	case <-time.After(30 * time.Second): // a guard
		t.Fatal("no failed XADD while the server was down")
	}
	if st := o.Stats()["redis"]; st.Sent != 1 || st.Pending != 4 {
		t.Errorf("redis while down: %+v", st)
	}

	srv.Restart(t)
	for i := 2; i <= 5; i++ {
		recv(redisOK, alertN(i), "redis, once back")
	}
	entries := xrange(t, rdb, key)
	if len(entries) != 5 {
		t.Fatalf("%d entries, want 5: %q", len(entries), entries)
	}
	for i, e := range entries {
		if e[1] != alertN(i+1).Source {
			t.Errorf("entry %d is %q, want %s", i, e, alertN(i+1).Source)
		}
	}
	if st := o.Stats(); st["redis"] != (metrics.QueueStats{Sent: 5}) || st["webhook"] != (metrics.QueueStats{Sent: 5}) {
		t.Errorf("stats %+v", st)
	}
	if err := stop(); err != context.Canceled {
		t.Errorf("Run: %v", err)
	}
}
