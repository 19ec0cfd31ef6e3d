package model

import (
	"testing"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// customerWithFeatures is gen.CustomerSchema plus ad_features, the field
// Publish writes.
var customerWithFeatures = stream.MustSchema("customer",
	stream.Field{Name: "id", Kind: stream.KindInt},
	stream.Field{Name: "pred_event", Kind: stream.KindInt},
	stream.Field{Name: FeaturesField, Kind: stream.KindString},
)

func TestScoreRecord(t *testing.T) {
	m := &Model{Version: 3, Intercept: -2, Weights: Features{Mobile: 4}}
	w := NewWatcher(nil, WatchConfig{})
	x := Features{0.25, 0.25, 0.25, 0.25, 1, 0.9}
	rec := &stream.Record{Schema: customerWithFeatures, Values: []stream.Value{stream.Int(7), stream.Int(1), stream.String(x.String())}}
	if _, ok, err := w.ScoreRecord(rec); ok || err != nil {
		t.Fatalf("no model loaded: ok %v err %v", ok, err)
	}
	w.cur.Store(m)
	if s, ok, err := w.ScoreRecord(rec); !ok || err != nil || s != m.Score(x) {
		t.Fatalf("score %v %v %v, want %v", s, ok, err, m.Score(x))
	}
	// The demo's schema has no ad_features: no score, no error.
	plain := &stream.Record{Schema: gen.CustomerSchema, Values: make([]stream.Value, gen.CustomerSchema.Len())}
	if _, ok, err := w.ScoreRecord(plain); ok || err != nil {
		t.Fatalf("record without features: ok %v err %v", ok, err)
	}
	if _, ok, err := w.ScoreRecord(nil); ok || err != nil {
		t.Fatalf("nil record: ok %v err %v", ok, err)
	}
	bad := &stream.Record{Schema: customerWithFeatures, Values: []stream.Value{stream.Int(7), stream.Int(1), stream.String("1,2")}}
	if _, ok, err := w.ScoreRecord(bad); ok || err == nil {
		t.Fatalf("bad features: ok %v err %v", ok, err)
	}
}
