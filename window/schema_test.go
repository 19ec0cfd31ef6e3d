package window

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

var loginSchema = stream.MustSchema("login",
	stream.Field{Name: "id", Kind: stream.KindInt}, stream.Field{Name: "user", Kind: stream.KindString},
	stream.Field{Name: "ok", Kind: stream.KindBool})

func login(id int64, user string, at time.Duration) stream.Event {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(at).UnixNano()
	return stream.Event{Key: user, Time: t, Schema: loginSchema, Fields: []stream.Value{stream.Int(id), stream.String(user), stream.Bool(false)}}
}

// A key field the input lacks is refused at start, and an event whose
// schema lacks it (or that has none) fails the operator instead of being
// keyed by null.
func TestMissingKeyFieldIsAnError(t *testing.T) {
	env := stream.Env{Schema: loginSchema, Schemas: []*stream.Schema{loginSchema}}
	cw, _ := NewCountWithin(CountWithinConfig{Name: "fails", KeyBy: []string{"usr"}, Count: 3, Within: time.Minute})
	tu, _ := NewTumbling(TumblingConfig{WindowConfig: WindowConfig{Name: "per_min", KeyBy: []string{"user", "nope"}}, Size: time.Minute})
	se, _ := NewSessions(SessionConfig{WindowConfig: WindowConfig{Name: "sess", KeyBy: []string{"user"}, Dedup: "event_id"}, Gap: time.Minute})
	dd, _ := NewDedup(DedupConfig{Field: "login_id"})
	for op, want := range map[stream.Starter]string{
		cw: "count-within fails: key field usr not in the events' schema login (fields: id, user, ok)",
		tu: "tumbling per_min: key field nope not in the events' schema login",
		se: "session sess: dedup field event_id not in the events' schema login",
		dd: "dedup dedup: dedup field login_id not in the events' schema login",
	} {
		if err := op.Start(context.Background(), env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("start: %v, want %q", err, want)
		}
	}
	// Unknown input schema: the first event tells.
	cw, _ = NewCountWithin(CountWithinConfig{Name: "fails", KeyBy: []string{"usr"}, Count: 3, Within: time.Minute})
	if err := cw.Start(context.Background(), stream.Env{}); err != nil {
		t.Fatal(err)
	}
	var out stream.Emitter
	if err := cw.Process(context.Background(), []stream.Event{login(1, "ann", 0)}, &out); err == nil || !strings.Contains(err.Error(), "key field usr not in") {
		t.Fatalf("process: %v", err)
	}
	noSchema := login(2, "bob", 0)
	noSchema.Schema = nil
	tu, _ = NewTumbling(TumblingConfig{WindowConfig: WindowConfig{Name: "per_min", KeyBy: []string{"user"}}, Size: time.Minute})
	if err := tu.Process(context.Background(), []stream.Event{noSchema}, &out); err == nil || !strings.Contains(err.Error(), "an event without a schema") {
		t.Fatalf("no schema: %v", err)
	}
}

// The results of time windows carry their key fields, typed from the input.
func TestTimeWindowResultsCarryKeyFields(t *testing.T) {
	tu, _ := NewTumbling(TumblingConfig{WindowConfig: WindowConfig{Name: "per_min", KeyBy: []string{"user", "id"}}, Size: time.Minute})
	if err := tu.Start(context.Background(), stream.Env{Schema: loginSchema}); err != nil {
		t.Fatal(err)
	}
	var out stream.Emitter
	_ = tu.Process(context.Background(), []stream.Event{login(7, "ann", time.Second), login(7, "ann", 2*time.Second)}, &out)
	_ = tu.Advance(context.Background(), stream.MaxWatermark, &out)
	if len(out.Events()) != 1 {
		t.Fatalf("%d results", len(out.Events()))
	}
	r := out.Events()[0]
	if r.Schema == nil || r.Schema.Name() != "per_min" || r.Get("user").Str() != "ann" || r.Get("id").Int() != 7 ||
		r.Schema.Field(1).Kind != stream.KindInt || r.Window.Count != 2 || r.Window.Key != "ann|7" {
		t.Fatalf("result %+v %v", r, r.Fields)
	}
}

// Restored events share the pipeline's schemas when their fields match.
func TestRestoreSharesKnownSchemas(t *testing.T) {
	o, _ := NewOrder(OrderConfig{})
	env := stream.Env{Schema: loginSchema, Schemas: []*stream.Schema{loginSchema}}
	_ = o.Start(context.Background(), env)
	var out stream.Emitter
	_ = o.Process(context.Background(), []stream.Event{login(1, "ann", 0)}, &out)
	snap, err := o.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	o2, _ := NewOrder(OrderConfig{})
	_ = o2.Start(context.Background(), env)
	if err := o2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	_ = o2.Advance(context.Background(), stream.MaxWatermark, &out)
	if len(out.Events()) != 1 || out.Events()[0].Schema != loginSchema {
		t.Fatalf("restored %+v", out.Events())
	}
	o3, _ := NewOrder(OrderConfig{}) // no known schemas: an equal copy
	_ = o3.Restore(snap)
	out.Reset()
	_ = o3.Advance(context.Background(), stream.MaxWatermark, &out)
	if len(out.Events()) != 1 || out.Events()[0].Schema == loginSchema || out.Events()[0].Schema.Name() != "login" {
		t.Fatalf("restored without known schemas %+v", out.Events())
	}
}

// An event whose key field is null is dead-lettered by every keyed window,
// not keyed by null with every other such event.
func TestNullKeyIsDeadLettered(t *testing.T) {
	withNull := login(9, "x", time.Second)
	withNull.Fields[1] = stream.Null()
	ops := map[string]stream.Operator{}
	cw, _ := NewCountWithin(CountWithinConfig{Name: "c", KeyBy: []string{"user"}, Count: 2, Within: time.Minute})
	ops["count-within c"] = cw
	tu, _ := NewTumbling(TumblingConfig{WindowConfig: WindowConfig{Name: "t", KeyBy: []string{"user"}}, Size: time.Minute})
	ops["tumbling t"] = tu
	se, _ := NewSessions(SessionConfig{WindowConfig: WindowConfig{Name: "s", KeyBy: []string{"user"}}, Gap: time.Minute})
	ops["session s"] = se
	nv, _ := NewNewValue(NewValueConfig{PatternConfig: PatternConfig{Name: "n", KeyBy: []string{"user"}, Within: time.Minute}, Field: "ok"})
	ops["new_value n"] = nv
	for name, op := range ops {
		var out stream.Emitter
		if err := op.Process(context.Background(), []stream.Event{withNull, login(10, "ann", 2*time.Second)}, &out); err != nil {
			t.Fatal(err)
		}
		dl := out.DeadLetters()
		if len(dl) != 1 || dl[0].Reason != name+": key field user is null" || string(dl[0].Raw) != "9,,0" {
			t.Errorf("%s: dead letters %+v", name, dl)
		}
	}
}
