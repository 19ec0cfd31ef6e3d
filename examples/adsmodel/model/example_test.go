package model_test

import (
	"fmt"
	"time"

	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// Train on generated plays and clicks whose relation is known, and compare
// with the truth.
func ExampleTrain() {
	d := gen.Generate(gen.Config{Seed: 11, Customers: 1000, Tracks: 60, Plays: 40000, MeanGap: 2 * time.Minute})
	clicks, truth := gen.Clicks(d, gen.ClickConfig{})
	clicked := map[int64]bool{}
	for _, c := range clicks {
		clicked[c.CustID] = clicked[c.CustID] || c.AdClicked == "ADV_REDUCED_1DAY"
	}
	b := model.NewBuilder()
	for _, p := range d.Plays {
		b.AddPlay(p)
	}
	res, err := model.Train(b.Rows(clicked), model.TrainConfig{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("rows: %d train, %d test\n", len(res.Train), len(res.Test))
	fmt.Printf("held-out error under 10%%: %v (Bayes error %.0f%%)\n", res.TestError < 0.10, truth.BayesError*100)
	for i, w := range res.Model.Weights {
		fmt.Printf("%s: sign %+.0f, truth %+.0f\n", model.FeatureNames[i], sign(w), sign(truth.Weights[i]))
	}
	// Output:
	// rows: 700 train, 300 test
	// held-out error under 10%: true (Bayes error 4%)
	// morning: sign +1, truth +1
	// afternoon: sign +1, truth +1
	// evening: sign -1, truth -1
	// night: sign -1, truth -1
	// mobile: sign -1, truth -1
	// unique: sign +1, truth +1
}

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

func ExampleModel_Score() {
	m := &model.Model{Intercept: -2, Weights: model.Features{model.Mobile: 4}}
	fmt.Printf("%.3f %.3f\n", m.Score(model.Features{model.Mobile: 0}), m.Score(model.Features{model.Mobile: 1}))
	// Output: 0.119 0.881
}
