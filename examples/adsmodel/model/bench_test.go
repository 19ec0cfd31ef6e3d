package model

import (
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// BenchmarkTrain fits the model on 5000 customers (3500 training rows).
func BenchmarkTrain(b *testing.B) {
	rows, _ := truthData(b, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	var res *Result
	for b.Loop() {
		var err error
		if res, err = Train(rows, TrainConfig{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(res.Iterations), "iterations")
	b.ReportMetric(res.TestError*100, "test-error-%")
}

func BenchmarkScore(b *testing.B) {
	m := &Model{Intercept: -10, Weights: Features(gen.DefaultClickWeights)}
	x := Features{0.3, 0.2, 0.25, 0.25, 0.5, 0.7}
	b.ReportAllocs()
	s := 0.0
	for b.Loop() {
		s += m.Score(x)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scores/s")
	_ = s
}

// BenchmarkWatcherScore is Score through the watcher's atomic pointer, as
// a rule function would call it.
func BenchmarkWatcherScore(b *testing.B) {
	w := NewWatcher(nil, WatchConfig{})
	w.cur.Store(&Model{Intercept: -10, Weights: Features(gen.DefaultClickWeights)})
	x := Features{0.3, 0.2, 0.25, 0.25, 0.5, 0.7}
	b.ReportAllocs()
	s := 0.0
	for b.Loop() {
		v, _ := w.Score(x)
		s += v
	}
	_ = s
}

// BenchmarkBuilder computes features from 200000 plays of 5000 customers.
func BenchmarkBuilder(b *testing.B) {
	d := gen.Generate(gen.Config{Seed: 1, Customers: 5000, Tracks: 60, Plays: 200000, MeanGap: 30 * time.Second})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		bu := NewBuilder()
		for _, p := range d.Plays {
			bu.AddPlay(p)
		}
		if len(bu.Rows(nil)) != 5000 {
			b.Fatal("customers lost")
		}
	}
	b.ReportMetric(float64(len(d.Plays))*float64(b.N)/b.Elapsed().Seconds(), "plays/s")
}

// BenchmarkPublish writes 5000 predictions and the model to redis-server.
func BenchmarkPublish(b *testing.B) {
	rdb, prefix := testRedis(b)
	rows, _ := truthData(b, 5000)
	res, err := Train(rows, TrainConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Publish(ctx, rdb, res, rows, PublishConfig{Prefix: prefix}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "predictions/s")
}

// BenchmarkScoreRecord is ad_score(customer)'s work: parse the record's
// ad_features and score them with the live model.
func BenchmarkScoreRecord(b *testing.B) {
	w := NewWatcher(nil, WatchConfig{})
	w.cur.Store(&Model{Intercept: -10, Weights: Features(gen.DefaultClickWeights)})
	x := Features{0.3, 0.2, 0.25, 0.25, 0.5, 0.7}
	rec := &stream.Record{Schema: customerWithFeatures, Values: []stream.Value{stream.Int(7), stream.Int(1), stream.String(x.String())}}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := w.ScoreRecord(rec); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scores/s")
}
