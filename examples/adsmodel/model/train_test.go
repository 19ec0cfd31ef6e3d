package model

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
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
	// The labels are Bernoulli draws from the true relation, so no model can
	// expect to beat its Bayes error; on 900 held-out rows the error's
	// standard deviation is sqrt(e(1-e)/900), under 0.008 for e near 0.05.
	// Allow the fit 3 standard deviations plus 1 point of estimation error
	// over the truth measured on the same rows.
	sd := math.Sqrt(truth.BayesError * (1 - truth.BayesError) / float64(len(res.Test)))
	if bound := truth.BayesError + 3*sd + 0.01; res.TestError > bound {
		t.Errorf("test error %.4f > Bayes error %.4f + 3 sd + 0.01 = %.4f", res.TestError, truth.BayesError, bound)
	}
	if res.TestError > oracle+0.02 {
		t.Errorf("test error %.4f > the true relation's %.4f + 0.02 on the same rows", res.TestError, oracle)
	}
	if res.TestError >= 0.10 {
		t.Errorf("test error %.4f would not be published", res.TestError)
	}
	dot, nw, nt := 0.0, 0.0, 0.0
	for i, w := range res.Model.Weights {
		tw := truth.Weights[i]
		if math.Signbit(w) != math.Signbit(tw) {
			t.Errorf("weight %s = %.3g, truth %.3g: signs differ", FeatureNames[i], w, tw)
		}
		dot, nw, nt = dot+w*tw, nw+w*w, nt+tw*tw
	}
	if cos := dot / math.Sqrt(nw*nt); cos < 0.98 {
		t.Errorf("learned weights %v point away from the truth %v (cosine %.4f)", res.Model.Weights, truth.Weights, cos)
	}
}

func TestTrainDeterministic(t *testing.T) {
	rows, _ := truthData(t, 400)
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	a, err := Train(rows, TrainConfig{Seed: 9, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	rev := make([]Row, len(rows))
	for i := range rows {
		rev[len(rows)-1-i] = rows[i]
	}
	b, err := Train(rev, TrainConfig{Seed: 9, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Model, b.Model) {
		t.Errorf("input order changed the model:\n%+v\n%+v", a.Model, b.Model)
	}
	c, _ := Train(rows, TrainConfig{Seed: 10, Now: now})
	if c.Test[0].CustID == a.Test[0].CustID && c.Test[1].CustID == a.Test[1].CustID {
		t.Error("another seed gave the same split")
	}
}

func TestTrainErrors(t *testing.T) {
	if _, err := Train([]Row{{}}, TrainConfig{}); !errors.Is(err, ErrTooFewRows) {
		t.Errorf("one row: %v", err)
	}
	rows := []Row{{CustID: 1}, {CustID: 2, Label: true}, {CustID: 3}}
	for _, c := range []TrainConfig{{TestShare: 1}, {TestShare: -0.1}, {L2: -1}, {MaxIter: -1}} {
		if _, err := Train(rows, c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// A separable data set: L2 keeps the weights finite and the fit exact.
func TestTrainSeparable(t *testing.T) {
	var rows []Row
	for i := range 200 {
		x := float64(i%100) / 100
		rows = append(rows, Row{CustID: int64(i), X: Features{Mobile: x}, Label: x > 0.5})
	}
	res, err := Train(rows, TrainConfig{L2: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestError != 0 || res.TrainError != 0 {
		t.Errorf("separable data: errors %v/%v", res.TrainError, res.TestError)
	}
	for _, w := range res.Model.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			t.Fatalf("weights %v", res.Model.Weights)
		}
	}
}

func TestSolve(t *testing.T) {
	var h [dim][dim]float64
	var want, g [dim]float64
	for i := range dim {
		want[i] = float64(i) - 2.5
		for j := range dim {
			h[i][j] = 1 / float64(i+j+1) // Hilbert: ill-conditioned
		}
		h[i][i] += 1
	}
	for i := range dim {
		for j := range dim {
			g[i] += h[i][j] * want[j]
		}
	}
	x, err := solve(h, g)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Abs(x[i]-want[i]) > 1e-9 {
			t.Fatalf("solve: %v, want %v", x, want)
		}
	}
	if _, err := solve([dim][dim]float64{}, g); err == nil {
		t.Error("singular matrix: no error")
	}
}
