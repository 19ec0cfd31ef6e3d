package dashboard

import (
	"context"
	"errors"
	"time"

	"github.com/rulestream/rulestream/examples/adsmodel/model"
)

// ModelState is the ad-response model as the page shows it: the live model
// and the training attempts of the range (examples/adsmodel appends one to
// model:ads:history per attempt).
type ModelState struct {
	// Live is the published model; null when none is.
	Live *LiveModel `json:"live"`
	// Attempts are the attempts of the range (processing time, ending
	// now; RangeAll: the newest Config.ModelHistory), oldest first.
	Attempts []ModelPoint `json:"attempts"`
}

// LiveModel is the model in <prefix>model:ads.
type LiveModel struct {
	Version   int64     `json:"version"`
	TestError float64   `json:"testError"`
	Threshold float64   `json:"threshold"`
	TrainedAt time.Time `json:"trainedAt"`
}

// ModelPoint is one training attempt.
type ModelPoint struct {
	Time      int64    `json:"t"`     // unix milliseconds
	Error     *float64 `json:"error"` // held-out error; null when no model was trained
	Threshold float64  `json:"threshold"`
	Outcome   string   `json:"outcome"` // published, refused, failed
	Reason    string   `json:"reason"`
	Rows      int      `json:"rows"`
	Version   int64    `json:"version,omitempty"`
}

// modelState reads the live model and the attempts since from (zero: the
// newest Config.ModelHistory). Read errors go to fail; what could be read
// is returned.
func (d *Dashboard) modelState(ctx context.Context, from time.Time, fail func(error)) ModelState {
	ms := ModelState{Attempts: []ModelPoint{}}
	switch m, err := model.Load(ctx, d.cfg.Redis, d.cfg.Prefix); {
	case errors.Is(err, model.ErrNoModel):
	case err != nil:
		fail(err)
	default:
		ms.Live = &LiveModel{Version: m.Version, TestError: m.TestError, Threshold: m.Threshold, TrainedAt: m.TrainedAt}
	}
	attempts, err := model.ReadHistory(ctx, d.cfg.Redis, d.cfg.Prefix, d.cfg.ModelHistory)
	if err != nil {
		fail(err)
	}
	for _, a := range attempts {
		if a.At.Before(from) {
			continue
		}
		ms.Attempts = append(ms.Attempts, ModelPoint{Time: a.At.UnixMilli(), Error: a.Error, Threshold: a.Threshold,
			Outcome: a.Outcome, Reason: a.Reason, Rows: a.Rows, Version: a.Version})
	}
	return ms
}
