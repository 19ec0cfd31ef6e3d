package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoModel is returned by Load when no model is published.
var ErrNoModel = errors.New("model: no model published")

// Load reads the live model from <prefix>model:ads.
func Load(ctx context.Context, rdb redis.UniversalClient, prefix string) (*Model, error) {
	key := prefix + Key
	h, err := rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("model: load %s: %w", key, err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("%w at %s", ErrNoModel, key)
	}
	m, err := parseModel(h)
	if err != nil {
		return nil, fmt.Errorf("model: load %s: %w", key, err)
	}
	return m, nil
}

func parseModel(h map[string]string) (*Model, error) {
	m := &Model{Features: strings.Split(h["features"], ",")}
	if got, want := h["features"], strings.Join(FeatureNames[:], ","); got != want {
		return nil, fmt.Errorf("features %q, this build scores %q", got, want)
	}
	var err error
	num := func(f string) float64 {
		x, e := strconv.ParseFloat(h[f], 64)
		if e == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
			e = errors.New("not finite")
		}
		if e != nil && err == nil {
			err = fmt.Errorf("field %s %q: %w", f, h[f], e)
		}
		return x
	}
	m.Version = int64(num("version"))
	m.Intercept = num("intercept")
	m.TestError = num("test_error")
	m.Threshold = num("threshold")
	m.TrainRows = int(num("train_rows"))
	m.TestRows = int(num("test_rows"))
	if err != nil {
		return nil, err
	}
	if m.Weights, err = ParseFeatures(h["weights"]); err != nil {
		return nil, fmt.Errorf("field weights: %w", err)
	}
	if m.TrainedAt, err = time.Parse(time.RFC3339Nano, h["trained_at"]); err != nil {
		return nil, fmt.Errorf("field trained_at: %w", err)
	}
	return m, nil
}
