package model

import (
	"fmt"
	"time"
)

// Model is a trained logistic regression: Score(x) = 1/(1+exp(-(Intercept +
// Σ Weights[i]·x[i]))).
type Model struct {
	Version   int64    // set by Publish (and Load); 0 before publishing
	Features  []string // the order of Weights: FeatureNames
	Intercept float64
	Weights   Features
	TestError float64 // misclassification rate on the held-out rows
	Threshold float64 // the publish threshold it passed (set by Publish)
	TrainRows int
	TestRows  int
	TrainedAt time.Time
}

// Score is the probability that a customer with features x clicks
// ADV_REDUCED_1DAY. A nil model scores 0.
func (m *Model) Score(x Features) float64 {
	if m == nil {
		return 0
	}
	z := m.Intercept
	for i, w := range m.Weights {
		z += w * x[i]
	}
	return sigmoid(z)
}

// Predict is Score(x) >= 0.5.
func (m *Model) Predict(x Features) bool { return m.Score(x) >= 0.5 }

// Error is the misclassification rate of m on rows (0 for no rows).
func (m *Model) Error(rows []Row) float64 {
	if len(rows) == 0 {
		return 0
	}
	wrong := 0
	for i := range rows {
		if m.Predict(rows[i].X) != rows[i].Label {
			wrong++
		}
	}
	return float64(wrong) / float64(len(rows))
}

// String summarizes the model on one line.
func (m *Model) String() string {
	s := fmt.Sprintf("intercept %.4g", m.Intercept)
	for i, w := range m.Weights {
		s += fmt.Sprintf(" %s %.4g", FeatureNames[i], w)
	}
	return s
}
