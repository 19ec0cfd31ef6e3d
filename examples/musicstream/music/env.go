package music

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// Scorer scores an enriched customer record with the live ad-response
// model; ok is false when there is no model or no features.
type Scorer func(rec *stream.Record) (score float64, ok bool, err error)

// CEL returns what Go adds to the job's rule environment: ad_score(customer),
// the live ad-response model's probability that the customer answers an ad
// (0 when no model is published, the customer has no features yet, or
// score is nil).
func CEL(score Scorer) []cel.EnvOption {
	return []cel.EnvOption{
		cel.Function("ad_score", cel.Overload("ad_score_customer", []*cel.Type{rules.RecordType("customer")}, cel.DoubleType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				rec, ok := rules.RecordOf(v)
				if !ok {
					return types.NewErr("ad_score: not a customer record")
				}
				if score == nil {
					return types.Double(0)
				}
				s, ok, err := score(rec)
				if err != nil {
					return types.NewErr("ad_score: %v", err)
				}
				if !ok {
					return types.Double(0)
				}
				return types.Double(s)
			}))),
	}
}
