package model

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// TrainConfig configures Train. Zero values mean the defaults.
type TrainConfig struct {
	// Seed drives the train/test split. Default 1.
	Seed uint64
	// TestShare is the share of rows held out. Default 0.3.
	TestShare float64
	// L2 is the ridge penalty (l2/2)·|w|² added to the mean log-loss; the
	// intercept is not penalized. It must be positive: the four time-of-day
	// shares sum to 1, so without it their weights are not determined.
	// Default 1e-6.
	L2 float64
	// MaxIter bounds Newton iterations. Default 100.
	MaxIter int
	// Now stamps TrainedAt. Default time.Now.
	Now func() time.Time
}

func (c *TrainConfig) setDefaults() {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.TestShare == 0 {
		c.TestShare = 0.3
	}
	if c.L2 == 0 {
		c.L2 = 1e-6
	}
	if c.MaxIter == 0 {
		c.MaxIter = 100
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports a configuration Train cannot use.
func (c TrainConfig) Validate() error {
	c.setDefaults()
	switch {
	case !(c.TestShare > 0 && c.TestShare < 1):
		return fmt.Errorf("model: TestShare %v is not in (0, 1)", c.TestShare)
	case !(c.L2 > 0) || math.IsInf(c.L2, 0):
		return fmt.Errorf("model: L2 %v is not positive", c.L2)
	case c.MaxIter < 0:
		return fmt.Errorf("model: MaxIter %d is negative", c.MaxIter)
	}
	return nil
}

// Result is a trained model with its split.
type Result struct {
	Model      *Model
	TestError  float64 // misclassification rate on Test
	TrainError float64 // on Train
	Train      []Row
	Test       []Row
	Iterations int
}

// ErrTooFewRows is returned when the rows cannot give both a training and a
// test set.
var ErrTooFewRows = errors.New("model: too few rows to split")

// Train fits the model on a seeded split of rows (ordered by CustID first,
// so the split does not depend on the input order) and measures it on the
// held-out share.
func Train(rows []Row, cfg TrainConfig) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	train, test, err := Split(rows, cfg.Seed, cfg.TestShare)
	if err != nil {
		return nil, err
	}
	theta, it, err := fit(train, cfg.L2, cfg.MaxIter)
	if err != nil {
		return nil, fmt.Errorf("model: train: %w", err)
	}
	m := &Model{Features: FeatureNames[:], Intercept: theta[0], TrainRows: len(train), TestRows: len(test), TrainedAt: cfg.Now().UTC()}
	copy(m.Weights[:], theta[1:])
	m.TestError = m.Error(test)
	return &Result{Model: m, TestError: m.TestError, TrainError: m.Error(train), Train: train, Test: test, Iterations: it}, nil
}

// Split orders rows by CustID, shuffles them with seed and holds out
// round(testShare·n) of them (at least one each side).
func Split(rows []Row, seed uint64, testShare float64) (train, test []Row, err error) {
	if len(rows) < 2 {
		return nil, nil, fmt.Errorf("%w: %d rows", ErrTooFewRows, len(rows))
	}
	all := slices.Clone(rows)
	slices.SortStableFunc(all, func(a, b Row) int { return cmp.Compare(a.CustID, b.CustID) })
	r := rand.New(rand.NewPCG(seed, seed^0x5eed5eed5eed5eed))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	nt := min(max(int(math.Round(testShare*float64(len(all)))), 1), len(all)-1)
	return all[nt:], all[:nt], nil
}
