package rules

import (
	"testing"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// TestEnvOptionFunction shows the hook a later issue uses for ad_score: a
// CEL function over the customer record, bound to Go code.
func TestEnvOptionFunction(t *testing.T) {
	scores := map[int64]float64{7: 0.9, 8: 0.1}
	env, err := NewEnv(EnvConfig{EventSchema: gen.PlaySchema, Joins: demoJoins(), Windows: demoWindows(), Options: []cel.EnvOption{
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
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	out := process(t, en, enriched(1, 7, 3, 0, customer(7, 1, 1, stream.Null())), enriched(2, 8, 3, 0, customer(8, 1, 1, stream.Null())))
	if len(out) != 1 || out[0].Key != "7" || out[0].Get("score").Float() != 0.9 {
		t.Fatalf("got %v", targets(out))
	}
	if _, err := env.NewRuleSet("", Rule{Name: "bad", When: "ad_score(track) > 0.5", Target: "ads"}); err == nil {
		t.Fatal("ad_score(track) type-checked")
	}
}

func TestEnvExtend(t *testing.T) {
	base := testEnv()
	env, err := base.Extend(cel.Function("vip", cel.Overload("vip_customer", []*cel.Type{RecordType("customer")}, cel.BoolType,
		cel.UnaryBinding(func(v ref.Val) ref.Val {
			rec, _ := RecordOf(v)
			return types.Bool(rec.Get("campaign").Int() == 5)
		}))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base.NewRuleSet("", Rule{Name: "v", When: "vip(customer)", Target: "t"}); err == nil {
		t.Fatal("the base env changed")
	}
	set, err := env.NewRuleSet("", Rule{Name: "v", When: "vip(customer) && customer.level < 2", Target: "t"})
	if err != nil {
		t.Fatal(err)
	}
	c := customer(7, 1, 1, stream.Null())
	c.Values[gen.CustomerSchema.Index("campaign")] = stream.Int(5)
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	if out := process(t, en, enriched(1, 7, 3, 0, c), enriched(2, 8, 3, 0, customer(8, 1, 1, stream.Null()))); targets(out) != "t/v:7:1" {
		t.Fatalf("got %s", targets(out))
	}
	// Reloads compile in the live set's (extended) environment.
	if err := en.Reload("x.yaml", []byte("rules:\n  - name: v\n    when: vip(customer)\n    target: t\n")); err != nil {
		t.Fatal(err)
	}
}
