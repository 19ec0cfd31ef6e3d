package rules

import (
	"testing"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/rulestream/rulestream/stream"
)

// TestEnvOptionFunction shows the hook a later issue uses for ad_score: a
// CEL function over the customer record, bound to Go code.
func TestEnvOptionFunction(t *testing.T) {
	scores := map[int64]float64{7: 0.9, 8: 0.1}
	env, err := NewEnv(EnvConfig{Options: []cel.EnvOption{
		cel.Function("ad_score", cel.Overload("ad_score_customer", []*cel.Type{RecordType("customer")}, cel.DoubleType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				rec, ok := RecordOf(v)
				if !ok {
					return types.NewErr("ad_score: not a customer")
				}
				return types.Double(scores[rec.Get("id").Int()])
			}))),
	}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := env.NewRuleSet("", Rule{Name: "scored", When: "ad_score(customer) > 0.5", Target: "ads",
		Payload: `{"score": ad_score(customer)}`})
	if err != nil {
		t.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{})
	out := process(t, en, enriched(1, 7, 3, 0, customer(7, 1, 1, stream.Null())), enriched(2, 8, 3, 0, customer(8, 1, 1, stream.Null())))
	if len(out) != 1 || out[0].Key != "7" || out[0].Get("score").Float() != 0.9 {
		t.Fatalf("got %v", targets(out))
	}
	if _, err := env.NewRuleSet("", Rule{Name: "bad", When: "ad_score(track) > 0.5", Target: "ads"}); err == nil {
		t.Fatal("ad_score(track) type-checked")
	}
}
