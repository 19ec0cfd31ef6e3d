package dashboard

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// somePlays returns n plays of customer cust, a minute apart from t0, tracks
// 100, 101, ...
func somePlays(cust int64, n int) []stream.Event {
	ps := make([]gen.Play, n)
	for i := range ps {
		ps[i] = gen.Play{EventID: cust*1000 + int64(i), CustomerID: cust, TrackID: 100 + int64(i), Time: t0.Add(time.Duration(i) * time.Minute),
			Mobile: i%2 == 0, Zip: "7500" + string(rune('0'+i%10))}
	}
	return gen.PlayEvents("plays", ps)
}

func TestRecorderKeepsTheNewestPlays(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	rec, err := NewRecorder(rdb, RecorderConfig{Prefix: prefix, Keep: 3, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	evs := append(somePlays(7, 5), somePlays(8, 1)...)
	evs = append(evs, stream.Event{Schema: gen.PlaySchema, Fields: make([]stream.Value, gen.PlaySchema.Len())}) // no customer
	if err := rec.Record(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := rec.Record(ctx, evs[:5]); err != nil { // replayed after a restart: the same members
		t.Fatal(err)
	}
	key := prefix + PlaysKey + "7"
	zs, err := rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil || len(zs) != 3 {
		t.Fatalf("%s holds %d plays (%v), want the newest 3", key, len(zs), err)
	}
	for i, z := range zs {
		var p play
		if err := json.Unmarshal([]byte(z.Member.(string)), &p); err != nil {
			t.Fatal(err)
		}
		want := play{EventID: "700" + string(rune('2'+i)), TrackID: "10" + string(rune('2'+i)), Zip: "7500" + string(rune('2'+i)), Mobile: i%2 == 0}
		if p != want || int64(z.Score) != t0.Add(time.Duration(2+i)*time.Minute).UnixMilli() {
			t.Errorf("play %d: %+v at %v, want %+v", i, p, z.Score, want)
		}
	}
	if ttl := rdb.TTL(ctx, key).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL %v, want up to 1h", ttl)
	}
	st := rec.Stats()
	if st.Plays != 11 || st.Skipped != 1 || st.Writes != 2 || st.Failures != 0 || st.Keep != 3 || st.TTL != "1h0m0s" {
		t.Errorf("stats %+v", st)
	}
}

func TestRecorderFailureIsCountedAndDoesNotStopThePlays(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer dead.Close()
	rec, err := NewRecorder(dead, RecorderConfig{TTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	var seen int
	inner := stream.OperatorFunc(func(_ context.Context, in []stream.Event, _ *stream.Emitter) error {
		seen += len(in)
		return nil
	})
	op, err := rec.Tap(func(stream.PartitionID) (stream.Operator, error) { return inner, nil })(stream.PartitionID{})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Process(context.Background(), somePlays(1, 4), nil); err != nil {
		t.Fatal(err)
	}
	st := rec.Stats()
	if seen != 4 || st.Failures != 1 || st.Lost != 4 || st.LastError == "" || st.TTL != "" {
		t.Errorf("inner saw %d plays; stats %+v", seen, st)
	}
	if _, err := NewRecorder(nil, RecorderConfig{}); err == nil {
		t.Error("NewRecorder(nil) succeeded")
	}
	if _, err := NewRecorder(dead, RecorderConfig{Keep: -1}); err == nil {
		t.Error("Keep -1 accepted")
	}
}

// snapOp is an operator with state of its own.
type snapOp struct {
	stream.Operator
	state []byte
}

func (o *snapOp) Snapshot() ([]byte, error) { return o.state, nil }
func (o *snapOp) Restore(b []byte) error    { o.state = b; return nil }

// The recorder keeps no state: a checkpoint is its inner operator's.
func TestRecorderTapSnapshotsTheInnerOperator(t *testing.T) {
	rdb, prefix := testRedis(t)
	rec, err := NewRecorder(rdb, RecorderConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	inner := &snapOp{Operator: stream.OperatorFunc(func(context.Context, []stream.Event, *stream.Emitter) error { return nil }), state: []byte("x")}
	op, _ := rec.Tap(func(stream.PartitionID) (stream.Operator, error) { return inner, nil })(stream.PartitionID{})
	s := op.(stream.Snapshotter)
	if b, err := s.Snapshot(); err != nil || string(b) != "x" {
		t.Fatalf("Snapshot = %q, %v", b, err)
	}
	if err := s.Restore([]byte("y")); err != nil || string(inner.state) != "y" {
		t.Fatalf("Restore: %v, inner %q", err, inner.state)
	}
	if b, err := rec.Operator().(stream.Snapshotter).Snapshot(); b != nil || err != nil {
		t.Errorf("the recorder alone snapshots %q, %v", b, err)
	}
}
