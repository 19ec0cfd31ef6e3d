package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key is the hash holding the live model (after the prefix); it is also the
// channel Publish announces a new version on.
const Key = "model:ads"

// PublishConfig configures Publish. Zero values mean the defaults.
type PublishConfig struct {
	// Prefix goes before every key written. Default "".
	Prefix string
	// Threshold: the model is published only when its held-out error is
	// under it. Default 0.10.
	Threshold float64
	// BatchSize is how many customers are written per round trip. Default 1000.
	BatchSize int
	// Logger; nil discards.
	Logger *slog.Logger
}

func (c *PublishConfig) setDefaults() {
	if c.Threshold == 0 {
		c.Threshold = 0.10
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ErrRefused matches a *RefusedError with errors.Is.
var ErrRefused = errors.New("model: not published")

// RefusedError is Publish's answer to a model whose held-out error is not
// under the threshold.
type RefusedError struct {
	TestError, Threshold float64
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("model: not published: held-out error %.2f%% is not under the threshold %.2f%%", e.TestError*100, e.Threshold*100)
}

// Is reports whether target is ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Published is what Publish wrote.
type Published struct {
	Model       *Model // with its new Version and Threshold
	Predictions int    // pred_event:<id> keys written
	Customers   int    // customer:<id> hashes given pred_event
	Missing     int    // customers without a customer:<id> hash (left absent)
}

// setCustomer sets the prediction on a customer hash that exists; it never
// creates a partial customer record.
var setCustomer = redis.NewScript(`if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'pred_event', ARGV[1], '` + FeaturesField + `', ARGV[2])
  return 1
end
return 0`)

// Publish writes res's model and its predictions for rows to Redis (see the
// package documentation for the keys), if res.TestError is under
// cfg.Threshold; otherwise it writes nothing and returns a *RefusedError.
func Publish(ctx context.Context, rdb redis.UniversalClient, res *Result, rows []Row, cfg PublishConfig) (Published, error) {
	cfg.setDefaults()
	if !(res.TestError < cfg.Threshold) {
		return Published{}, &RefusedError{TestError: res.TestError, Threshold: cfg.Threshold}
	}
	m := *res.Model
	m.Threshold = cfg.Threshold
	pub := Published{Model: &m}
	if err := setCustomer.Load(ctx, rdb).Err(); err != nil {
		return pub, fmt.Errorf("model: publish: load script: %w", err)
	}
	for start := 0; start < len(rows); start += cfg.BatchSize {
		batch := rows[start:min(start+cfg.BatchSize, len(rows))]
		pipe := rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(batch))
		for i := range batch {
			id := strconv.FormatInt(batch[i].CustID, 10)
			v := "0"
			if m.Predict(batch[i].X) {
				v = "1"
			}
			pipe.Set(ctx, cfg.Prefix+"pred_event:"+id, v, 0)
			cmds[i] = setCustomer.EvalSha(ctx, pipe, []string{cfg.Prefix + "customer:" + id}, v, batch[i].X.String())
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return pub, fmt.Errorf("model: publish predictions: %w", err)
		}
		for _, c := range cmds {
			if n, _ := c.Int(); n == 1 {
				pub.Customers++
			} else {
				pub.Missing++
			}
		}
		pub.Predictions += len(batch)
	}
	key := cfg.Prefix + Key
	var ver *redis.IntCmd
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		ver = p.HIncrBy(ctx, key, "version", 1)
		p.HSet(ctx, key, "features", strings.Join(m.Features, ","), "weights", m.Weights.String(),
			"intercept", ftoa(m.Intercept), "test_error", ftoa(m.TestError), "threshold", ftoa(m.Threshold),
			"train_rows", m.TrainRows, "test_rows", m.TestRows, "trained_at", m.TrainedAt.Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		return pub, fmt.Errorf("model: publish %s: %w", key, err)
	}
	m.Version = ver.Val()
	if err := rdb.Publish(ctx, key, m.Version).Err(); err != nil {
		return pub, fmt.Errorf("model: announce %s: %w", key, err)
	}
	cfg.Logger.Info("published model", "key", key, "version", m.Version, "test_error", m.TestError,
		"predictions", pub.Predictions, "customers", pub.Customers, "missing", pub.Missing)
	return pub, nil
}

func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
