package rules

import (
	"math/rand/v2"
	"testing"

	"cel.dev/cel-go/common/types"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// The native conditions agree with CEL on every record, and the other
// shapes are left to CEL.
func TestNativeConditionsAgreeWithCEL(t *testing.T) {
	env := testEnv()
	shapes := map[string]bool{
		"customer.level < 2 && customer.status == 1":                             true,
		"customer.level < 2 && customer.status == 1 && customer.pred_event == 1": true,
		"2 > customer.level": true,
		"customer.level <= 1 && 0 != customer.status && track.length >= 100": true,
		"customer.level >= -1 && customer.level > 0 && customer.status != 0": true,
		"customer.level < 2 || customer.status == 1":                         false,
		"customer.level in [1, 2]":                                           false,
		"customer.name == 'Cust 1' && customer.level < 2":                    true,
		"event.customer_id == 3":                                             true,
		"event.ismobile":                                                     true,
		"!event.ismobile && customer.level < 2":                              true,
		"event.listening_zip_code != '95051' && 1 <= event.customer_id":      true,
		"customer.name < 'x'":                                                false,
		"event.ismobile == true":                                             false,
		"customer.name == customer.address":                                  false,
		"event.customer_id == customer.id":                                   false,
		"has(customer.level) && customer.level < 2":                          false,
		"customer.level < customer.status":                                   false,
		"!(customer.level < 2)":                                              false,
	}
	// Foreign schemas: the field by name at another position, and a kind
	// other than int.
	moved := stream.MustSchema("customer2", stream.Field{Name: "status", Kind: stream.KindInt},
		stream.Field{Name: "level", Kind: stream.KindInt}, stream.Field{Name: "pred_event", Kind: stream.KindInt})
	stringy := stream.MustSchema("customer3", stream.Field{Name: "level", Kind: stream.KindString},
		stream.Field{Name: "status", Kind: stream.KindInt})
	// An event of another schema: customer_id moved, ismobile a string.
	otherPlay := stream.MustSchema("play2", stream.Field{Name: "ismobile", Kind: stream.KindString},
		stream.Field{Name: "customer_id", Kind: stream.KindInt}, stream.Field{Name: "listening_zip_code", Kind: stream.KindString})
	r := rand.New(rand.NewPCG(9, 9))
	val := func() stream.Value {
		switch r.IntN(8) {
		case 0:
			return stream.Null()
		case 1:
			return stream.String("1")
		default:
			return stream.Int(r.Int64N(5) - 1)
		}
	}
	pick := func(vs ...stream.Value) stream.Value { return vs[r.IntN(len(vs))] }
	str := func() stream.Value {
		return pick(stream.Null(), stream.String("Cust 1"), stream.String("95051"), stream.String("x"), stream.Int(1))
	}
	flag := func() stream.Value {
		return pick(stream.Null(), stream.Bool(true), stream.Bool(false), stream.Bool(true), stream.Bool(false), stream.String("true"))
	}
	for when, want := range shapes {
		set, err := env.NewRuleSet("v", Rule{Name: "r", When: when, Target: "t"})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		c := set.rules[0]
		if got := c.native != nil; got != want {
			t.Fatalf("%s: native %v, want %v", when, got, want)
		}
		if c.native == nil {
			continue
		}
		act := newActivation(set.env)
		native := 0
		for i := range 3000 {
			var rec *stream.Record
			switch i % 4 {
			case 0:
				rec = &stream.Record{Schema: moved, Values: []stream.Value{val(), val(), val()}}
			case 1:
				rec = &stream.Record{Schema: stringy, Values: []stream.Value{val(), val()}}
			default:
				rec = customer(1, 0, 0, val())
				rec.Values[gen.CustomerSchema.Index("level")] = val()
				rec.Values[gen.CustomerSchema.Index("status")] = val()
				rec.Values[gen.CustomerSchema.Index("name")] = str()
			}
			trk := track(1)
			trk.Values[gen.TrackSchema.Index("length")] = stream.Int(r.Int64N(300))
			ev := play(1, 1, 1, 0)
			if i%5 == 0 {
				ev.Schema, ev.Fields = otherPlay, []stream.Value{flag(), val(), str()}
			} else {
				ev.Fields[gen.PlaySchema.Index("customer_id")] = pick(val(), stream.Int(3))
				ev.Fields[gen.PlaySchema.Index("ismobile")] = flag()
				ev.Fields[gen.PlaySchema.Index("listening_zip_code")] = str()
			}
			ev.SetJoin("customer", rec)
			ev.SetJoin("track", trk)
			act.set(&ev, set.joins)
			v, _, cerr := c.cond.Eval(act)
			holds, ok := c.native.eval(act)
			if !ok {
				continue
			}
			native++
			if cerr != nil {
				t.Fatalf("%s on %v: native %v, CEL error %v", when, rec.Values, holds, cerr)
			}
			if (v == types.True) != holds {
				t.Fatalf("%s on %v: native %v, CEL %v", when, rec.Values, holds, v)
			}
		}
		if native < 100 {
			t.Fatalf("%s: native evaluated only %d of 3000", when, native)
		}
	}
}
