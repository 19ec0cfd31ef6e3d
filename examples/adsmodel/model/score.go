package model

import (
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// FeaturesField is the customer-hash field Publish writes each customer's
// features to, comma-separated in model order (Features.String).
const FeaturesField = "ad_features"

// RecordFeatures reads the features Publish stored on a customer record
// (field ad_features). ok is false when the record lacks the field (a
// customer without plays, or a schema without ad_features); an unparsable
// value is an error.
func RecordFeatures(rec *stream.Record) (f Features, ok bool, err error) {
	v := rec.Get(FeaturesField)
	if v.IsNull() {
		return f, false, nil
	}
	f, err = ParseFeatures(v.Str())
	if err != nil {
		return f, false, fmt.Errorf("model: %s: %w", FeaturesField, err)
	}
	return f, true, nil
}

// ScoreRecord scores an enriched customer record with the live model: the
// body of a rule function such as ad_score(customer). ok is false when no
// model is loaded or the record has no features.
func (w *Watcher) ScoreRecord(rec *stream.Record) (score float64, ok bool, err error) {
	m := w.cur.Load()
	if m == nil {
		return 0, false, nil
	}
	f, ok, err := RecordFeatures(rec)
	if !ok || err != nil {
		return 0, false, err
	}
	return m.Score(f), true, nil
}
