package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/smsworker/worker"
)

// Entries that cannot be an SMS (no customer_id, an empty one, a 5 MB
// name, too many fields) go to the dead stream unsent, with the reason,
// and are acknowledged; the well-formed entry after them is sent.
func TestMalformedEntriesDeadLettered(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := testCtx(t)
	key := px + "queue:sms"
	add := func(vals ...any) string {
		t.Helper()
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: vals}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	many := []any{"customer_id", "7"}
	for i := range 64 {
		many = append(many, fmt.Sprintf("f%d", i), "x")
	}
	want := map[string]string{
		add("name", "Ann", "offer_id", "o1"):                                          "malformed entry: no customer_id",
		add("customer_id", "", "name", "Ann", "offer_id", "o1"):                       "malformed entry: no customer_id",
		add("customer_id", "7", "name", strings.Repeat("n", 5<<20), "offer_id", "o1"): `malformed entry: field "name" is 5242880 bytes, more than 1024`,
		add(many...): "malformed entry: 65 fields, more than 64",
	}
	good := addEntries(t, rdb, key, 1)[0]

	rec := newRecorder()
	sender := worker.SenderFunc(func(_ context.Context, m worker.SMS) error {
		rec.record(m.EntryID)
		return nil
	})
	w, err := worker.New(rdb, sender, worker.Config{Stream: key, Consumer: "a", Block: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	waitSends(ctx, t, rec.note, 1) // the last entry: those before it were handled
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if rec.count(good) != 1 || len(rec.sent) != 1 {
		t.Errorf("sent %v, want only %s", rec.sent, good)
	}
	dead := rdb.XRange(ctx, key+":dead", "-", "+").Val()
	if len(dead) != len(want) {
		t.Fatalf("%d dead entries, want %d", len(dead), len(want))
	}
	for _, d := range dead {
		id, _ := d.Values["entry_id"].(string)
		if d.Values["error"] != want[id] || d.Values["attempts"] != "0" {
			t.Errorf("dead entry %s: error %q attempts %v, want %q", id, d.Values["error"], d.Values["attempts"], want[id])
		}
	}
	if p := pending(t, rdb, key, "smsworker"); p != 0 {
		t.Errorf("%d entries still pending", p)
	}
	if st := w.Stats(); st.Malformed != 4 || st.Dead != 4 || st.Sent != 1 || st.Acked != 5 {
		t.Errorf("stats %+v", st)
	}
}
