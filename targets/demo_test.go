package targets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

func TestDemoRoutes(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := context.Background()
	d, err := demoRouter(rdb, demoConfig{Prefix: px, MarkerPrefix: px + "m:", MaxLen: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	first := emission("interest", "interest_list", 0)
	later := first
	later.ID, later.Fields = "interest_list:1000:x", append([]stream.Value(nil), first.Fields...)
	later.Fields[5] = stream.Int(first.Fields[5].Int() + 99999) // same track, later: NX keeps the first
	evs := []stream.Event{first, emission("ads", "upgrade_ad", 1), emission("sms", "sms_offer", 2), deadLetter(3), later}
	if err := d.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	z := rdb.ZRangeWithScores(ctx, px+"interest:1000", 0, -1).Val()
	if len(z) != 1 || z[0].Member != "1" || int64(z[0].Score) != first.Fields[5].Int() {
		t.Errorf("interest set = %v", z)
	}
	want := map[string]map[string]string{
		"queue:interest":   {"customer_id": "1000", "track_id": "1", "event_id": "0", "rule": "interest_list", "rule_version": "v1", "at": "1772366400000"},
		"queue:ads":        {"customer_id": "1001", "track_id": "2", "event_id": "1", "rule": "upgrade_ad", "rule_version": "v1", "at": "1772366401000"},
		"queue:sms":        {"customer_id": "1002", "name": "Customer 1002", "offer_id": "offer-7", "rule": "sms_offer"},
		"queue:deadletter": {"source": "tracks.csv", "position": "tracks.csv:5", "reason": "bad datetime", "raw": "3,x,y,not-a-date"},
	}
	for key, fields := range want {
		xs := rdb.XRange(ctx, px+key, "-", "+").Val()
		if len(xs) == 0 {
			t.Errorf("%s is empty", key)
			continue
		}
		for f, v := range fields {
			if xs[0].Values[f] != v {
				t.Errorf("%s: %s = %v, want %q", key, f, xs[0].Values[f], v)
			}
		}
	}
	if n := rdb.XLen(ctx, px+"queue:interest").Val(); n != 2 {
		t.Errorf("queue:interest has %d entries, want 2 (one per emission)", n)
	}
	d2, _ := demoRouter(rdb, demoConfig{Prefix: px})
	var ute *targets.UnknownTargetError
	if err := d2.Write(ctx, []stream.Event{emission("push", "p", 1)}); !errors.As(err, &ute) {
		t.Errorf("unknown target: %v", err)
	}
}

func TestRedisSinkErrors(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := context.Background()
	if _, err := targets.NewRedis(rdb, targets.Config{}); err == nil {
		t.Error("no writes accepted")
	}
	s, _ := targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd(px + "q:{offer_id}")}, MarkerPrefix: px})
	ev := emission("ads", "r", 1)
	if err := s.Write(ctx, []stream.Event{ev}); !targets.IsPermanent(err) {
		t.Errorf("missing template field: %v", err)
	}
	// An event rejected after a full chunk leaves an empty chunk behind:
	// the flush must skip it.
	s, _ = targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd(px + "q:{rule}")}, MarkerPrefix: px + "m:",
		ChunkSize: 1, Batch: targets.BatchPolicy{Count: 10, Period: -1}})
	if err := s.Write(ctx, []stream.Event{emission("ads", "r", 1)}); err != nil {
		t.Fatal(err)
	}
	noRule := emission("ads", "r", 2)
	noRule.Fields[3] = stream.Null()
	if err := s.Write(ctx, []stream.Event{noRule}); !targets.IsPermanent(err) {
		t.Errorf("null template field: %v", err)
	}
	if err := s.Flush(ctx); err != nil || rdb.XLen(ctx, px+"q:r").Val() != 1 {
		t.Errorf("flush after a rejected event: %v", err)
	}
	noID := emission("ads", "r", 2)
	noID.ID = ""
	s, _ = targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd(px + "q")}, MarkerPrefix: px})
	if err := s.Write(ctx, []stream.Event{noID}); !targets.IsPermanent(err) {
		t.Errorf("event without ID: %v", err)
	}
	// A key of the wrong type is a permanent error naming the event; the
	// events before it are written.
	rdb.Set(ctx, px+"str", "x", 0)
	s, _ = targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd(px + "{rule}")}, MarkerPrefix: px + "m:"})
	bad := emission("ads", "str", 3)
	err := s.Write(ctx, []stream.Event{emission("ads", "ok", 1), bad})
	if err == nil {
		err = s.Flush(ctx)
	}
	if !targets.IsPermanent(err) || !strings.Contains(err.Error(), `event "str:1003:3"`) || rdb.XLen(ctx, px+"ok").Val() != 1 {
		t.Fatalf("WRONGTYPE: err %v, ok stream %d", err, rdb.XLen(ctx, px+"ok").Val())
	}
	t.Log(err)
}
