package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

func trained(t testing.TB, customers int) ([]Row, *Result) {
	t.Helper()
	rows, _ := truthData(t, customers)
	res, err := Train(rows, TrainConfig{Seed: 2, Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return rows, res
}

func TestPublishRefusedAboveThreshold(t *testing.T) {
	_, res := trained(t, 300)
	res.TestError = 0.125 // as a worse model would measure
	// No Redis is touched on refusal: a client to nowhere shows it.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	_, err := Publish(context.Background(), rdb, res, res.Test, PublishConfig{})
	const want = "model: not published: held-out error 12.50% is not under the threshold 10.00%"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	var re *RefusedError
	if !errors.Is(err, ErrRefused) || !errors.As(err, &re) || re.TestError != 0.125 || re.Threshold != 0.10 {
		t.Errorf("error %#v does not match ErrRefused / *RefusedError", err)
	}
	// Equal to the threshold is not under it.
	res.TestError = 0.05
	_, err = Publish(context.Background(), rdb, res, res.Test, PublishConfig{Threshold: 0.05})
	if want := "model: not published: held-out error 5.00% is not under the threshold 5.00%"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestPublishWritesModelAndPredictions(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	rows, res := trained(t, 500)
	// Customers with a hash get pred_event; the others are not created.
	for _, r := range rows[:100] {
		rdb.HSet(ctx, prefix+"customer:"+strconv.FormatInt(r.CustID, 10), "id", r.CustID, "level", 1)
	}
	pub, err := Publish(ctx, rdb, res, rows, PublishConfig{Prefix: prefix, BatchSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Predictions != len(rows) || pub.Customers != 100 || pub.Missing != len(rows)-100 || pub.Model.Version != 1 {
		t.Fatalf("published %+v", pub)
	}
	for i, r := range rows {
		id := strconv.FormatInt(r.CustID, 10)
		want := "0"
		if res.Model.Predict(r.X) {
			want = "1"
		}
		if got := rdb.Get(ctx, prefix+"pred_event:"+id).Val(); got != want {
			t.Fatalf("pred_event:%s = %q, want %q", id, got, want)
		}
		h := rdb.HGetAll(ctx, prefix+"customer:"+id).Val()
		if i < 100 {
			f, err := ParseFeatures(h["ad_features"])
			if h["pred_event"] != want || h["level"] != "1" || err != nil || f != r.X {
				t.Fatalf("customer:%s = %v (features %v, %v), want pred_event %s and features %v", id, h, f, err, want, r.X)
			}
		} else if len(h) != 0 {
			t.Fatalf("customer:%s created: %v", id, h)
		}
	}
	m, err := Load(ctx, rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || m.Intercept != res.Model.Intercept || m.Weights != res.Model.Weights || m.TestError != res.TestError ||
		m.Threshold != 0.10 || m.TrainRows != len(res.Train) || m.TestRows != len(res.Test) || !m.TrainedAt.Equal(res.Model.TrainedAt) {
		t.Fatalf("loaded %+v, published %+v", m, res.Model)
	}
	if got := rdb.HGet(ctx, prefix+Key, "features").Val(); got != "morning,afternoon,evening,night,mobile,unique" {
		t.Errorf("features %q", got)
	}
	x := rows[0].X
	if math.Abs(m.Score(x)-res.Model.Score(x)) > 1e-15 {
		t.Errorf("loaded model scores %v, trained %v", m.Score(x), res.Model.Score(x))
	}
	pub2, err := Publish(ctx, rdb, res, rows[:10], PublishConfig{Prefix: prefix})
	if err != nil || pub2.Model.Version != 2 {
		t.Fatalf("second publish: %+v %v", pub2, err)
	}
}

func TestLoadErrors(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	if _, err := Load(ctx, rdb, prefix); !errors.Is(err, ErrNoModel) {
		t.Fatalf("no model: %v", err)
	}
	good := map[string]any{"version": 1, "features": "morning,afternoon,evening,night,mobile,unique", "weights": "1,2,3,4,5,6",
		"intercept": "0.5", "test_error": "0.05", "threshold": "0.1", "train_rows": 7, "test_rows": 3, "trained_at": "2026-11-23T12:00:00Z"}
	for field, bad := range map[string]string{
		"features":   "night,morning",
		"weights":    "1,2,3",
		"intercept":  "NaN",
		"version":    "x",
		"trained_at": "yesterday",
	} {
		rdb.Del(ctx, prefix+Key)
		rdb.HSet(ctx, prefix+Key, good)
		rdb.HSet(ctx, prefix+Key, field, bad)
		if _, err := Load(ctx, rdb, prefix); err == nil {
			t.Errorf("%s %q: no error", field, bad)
		} else {
			t.Logf("%s %q: %v", field, bad, err)
		}
	}
	rdb.HSet(ctx, prefix+Key, good)
	if m, err := Load(ctx, rdb, prefix); err != nil || m.Weights != (Features{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("good model: %+v %v", m, err)
	}
}

// Labels that do not depend on the features: the trained model cannot beat
// chance, and Publish refuses it and writes nothing.
func TestPublishRefusesNoiseModel(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	d := gen.Generate(gen.Config{Seed: 4, Customers: 600, Tracks: 60, Plays: 24000, MeanGap: 2 * time.Minute})
	clicks, truth := gen.Clicks(d, gen.ClickConfig{Weights: &[gen.ClickFeatures]float64{}, Bias: 1e-9})
	if truth.BayesError < 0.49 {
		t.Fatalf("Bayes error %v: the labels are not noise", truth.BayesError)
	}
	var buf bytes.Buffer
	if err := gen.WriteClicks(&buf, clicks); err != nil {
		t.Fatal(err)
	}
	clicked, err := ReadClicks(&buf, "clicks.csv")
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder()
	for _, p := range d.Plays {
		b.AddPlay(p)
	}
	rows := b.Rows(clicked)
	res, err := Train(rows, TrainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Publish(ctx, rdb, res, rows, PublishConfig{Prefix: prefix})
	want := fmt.Sprintf("model: not published: held-out error %.2f%% is not under the threshold 10.00%%", res.TestError*100)
	if res.TestError < 0.3 || err == nil || err.Error() != want {
		t.Fatalf("test error %.4f: error %v, want %q", res.TestError, err, want)
	}
	if n := rdb.Exists(ctx, prefix+Key, prefix+"pred_event:"+strconv.FormatInt(rows[0].CustID, 10)).Val(); n != 0 {
		t.Errorf("refused model wrote %d keys", n)
	}
}
