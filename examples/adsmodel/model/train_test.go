package model

import (
	"math"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream/gen"
)

// truthData is a data set with about 40 plays per customer over 60 tracks,
// where gen.DefaultClickWeights give a Bayes error near 5%.
func truthData(t testing.TB, customers int) ([]Row, gen.ClickTruth) {
	t.Helper()
	d := gen.Generate(gen.Config{Seed: 11, Customers: customers, Tracks: 60, Plays: 40 * customers, MeanGap: 2 * time.Minute, Duplicates: 0.01})
	clicks, truth := gen.Clicks(d, gen.ClickConfig{})
	b := NewBuilder()
	for _, p := range d.Plays {
		b.AddPlay(p)
	}
	clicked := map[int64]bool{}
	for _, c := range clicks {
		if c.AdClicked == "ADV_REDUCED_1DAY" {
			clicked[c.CustID] = true
		}
	}
	return b.Rows(clicked), truth
}

func truthModel(tr gen.ClickTruth) *Model {
	return &Model{Intercept: tr.Intercept, Weights: Features(tr.Weights)}
}

func TestTrainRecoversKnownRelation(t *testing.T) {
	rows, truth := truthData(t, 3000)
	if len(rows) != len(truth.Customers) {
		t.Fatalf("%d rows, truth has %d customers", len(rows), len(truth.Customers))
	}
	for i, r := range rows {
		c := truth.Customers[i]
		if r.CustID != c.ID || r.Label != c.Clicked {
			t.Fatalf("row %d: customer %d label %v, truth %d %v", i, r.CustID, r.Label, c.ID, c.Clicked)
		}
		for k := range r.X {
			if math.Abs(r.X[k]-c.Features[k]) > 1e-12 {
				t.Fatalf("customer %d: features %v, truth %v", r.CustID, r.X, c.Features)
			}
		}
	}
	res, err := Train(rows, TrainConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Test) != 900 || len(res.Train) != 2100 {
		t.Fatalf("split %d/%d, want 2100/900", len(res.Train), len(res.Test))
	}
	oracle := truthModel(truth).Error(res.Test)
	t.Logf("test error %.4f (oracle %.4f, Bayes %.4f, train %.4f) in %d iterations; %v", res.TestError, oracle, truth.BayesError, res.TrainError, res.Iterations, res.Model)
	t.Logf("truth: %v", truthModel(truth))
}
