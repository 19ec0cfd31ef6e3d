package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// HistoryKey is the Redis stream (after the prefix) every training attempt
// is appended to, published or not.
const HistoryKey = "model:ads:history"

// HistoryMaxLen bounds the history: each append trims the stream to about
// this many entries (XADD MAXLEN ~), more than a year of hourly attempts.
const HistoryMaxLen = 10000

// The outcomes of an attempt (its outcome field).
const (
	OutcomePublished = "published" // trained, under the threshold, published
	OutcomeRefused   = "refused"   // trained, not under the threshold: not published
	OutcomeFailed    = "failed"    // no model: the data could not be read, training or publishing failed
)

// Attempt is one training attempt as the history records it. Its stream
// entry has the fields at (RFC 3339, UTC), rows, error (absent when no
// model was measured), threshold, published (1 or 0), outcome, reason,
// version (the version published, absent otherwise) and duration_ms.
type Attempt struct {
	ID        string        `json:"id"` // the stream entry's id; set by AppendHistory and ReadHistory
	At        time.Time     `json:"at"` // when the attempt started
	Rows      int           `json:"rows"`
	Error     *float64      `json:"error"` // held-out error; nil when no model was trained
	Threshold float64       `json:"threshold"`
	Published bool          `json:"published"`
	Outcome   string        `json:"outcome"`
	Reason    string        `json:"reason"`            // why it was, or was not, published
	Version   int64         `json:"version,omitempty"` // the version published
	Duration  time.Duration `json:"durationNs"`
}

// fields returns the attempt as stream fields.
func (a Attempt) fields() []any {
	pub := "0"
	if a.Published {
		pub = "1"
	}
	f := []any{"at", a.At.UTC().Format(time.RFC3339Nano), "rows", a.Rows}
	if a.Error != nil {
		f = append(f, "error", ftoa(*a.Error))
	}
	f = append(f, "threshold", ftoa(a.Threshold), "published", pub, "outcome", a.Outcome, "reason", a.Reason)
	if a.Version != 0 {
		f = append(f, "version", a.Version)
	}
	return append(f, "duration_ms", a.Duration.Milliseconds())
}

// AppendHistory appends a to <prefix>model:ads:history and returns the
// entry's id.
func AppendHistory(ctx context.Context, rdb redis.UniversalClient, prefix string, a Attempt) (string, error) {
	key := prefix + HistoryKey
	id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: HistoryMaxLen, Approx: true, Values: a.fields()}).Result()
	if err != nil {
		return "", fmt.Errorf("model: append to %s: %w", key, err)
	}
	return id, nil
}

// ReadHistory returns the newest n attempts of <prefix>model:ads:history,
// oldest first. An entry that does not parse is left out and reported in
// the error (a join of one error per such entry); the others are returned.
func ReadHistory(ctx context.Context, rdb redis.UniversalClient, prefix string, n int) ([]Attempt, error) {
	key := prefix + HistoryKey
	msgs, err := rdb.XRevRangeN(ctx, key, "+", "-", int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("model: read %s: %w", key, err)
	}
	out := make([]Attempt, 0, len(msgs))
	var errs []error
	for _, m := range slices.Backward(msgs) {
		a, err := parseAttempt(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("model: %s entry %s: %w", key, m.ID, err))
			continue
		}
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}

func parseAttempt(m redis.XMessage) (Attempt, error) {
	a := Attempt{ID: m.ID}
	str := func(f string) string { s, _ := m.Values[f].(string); return s }
	var errs []error
	num := func(f string, required bool) (float64, bool) {
		s := str(f)
		if s == "" {
			if required {
				errs = append(errs, fmt.Errorf("field %s missing", f))
			}
			return 0, false
		}
		x, err := strconv.ParseFloat(s, 64)
		if err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
			err = errors.New("not finite")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s %q: %w", f, s, err))
			return 0, false
		}
		return x, true
	}
	var err error
	if a.At, err = time.Parse(time.RFC3339Nano, str("at")); err != nil {
		errs = append(errs, fmt.Errorf("field at: %w", err))
	}
	rows, _ := num("rows", true)
	a.Rows = int(rows)
	if e, ok := num("error", false); ok {
		a.Error = &e
	}
	a.Threshold, _ = num("threshold", true)
	v, _ := num("version", false)
	a.Version = int64(v)
	ms, _ := num("duration_ms", false)
	a.Duration = time.Duration(ms) * time.Millisecond
	switch p := str("published"); p {
	case "1", "0":
		a.Published = p == "1"
	default:
		errs = append(errs, fmt.Errorf("field published %q is not 1 or 0", p))
	}
	a.Outcome, a.Reason = str("outcome"), str("reason")
	switch a.Outcome {
	case OutcomePublished, OutcomeRefused, OutcomeFailed:
	default:
		errs = append(errs, fmt.Errorf("field outcome %q is not %s, %s or %s", a.Outcome, OutcomePublished, OutcomeRefused, OutcomeFailed))
	}
	if a.Published != (a.Outcome == OutcomePublished) {
		errs = append(errs, fmt.Errorf("published %v with outcome %q", a.Published, a.Outcome))
	}
	return a, errors.Join(errs...)
}
