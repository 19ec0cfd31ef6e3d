package rules

import (
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"

	"github.com/rulestream/rulestream/stream"
)

// compiled is a rule ready to run.
type compiled struct {
	Rule
	index          int
	cond           cel.Program
	condTracked    bool
	payload        cel.Program
	payloadTracked bool
	payloadKeys    []string
	payloadSlots   []int // schema position of each payload key
	schema         *stream.Schema
	explainSchema  *stream.Schema
	needJoins      []int // joins the rule reads: it does not fire without them
	reads          []readPath
	native         *native // the condition without CEL, when it has that shape
}

// readPath is a value the condition reads: a variable or one of its fields.
type readPath struct{ v, field string }

func (p readPath) String() string {
	if p.field == "" {
		return p.v
	}
	return p.v + "." + p.field
}

// nilEstimator leaves sizes and call costs to cel's defaults.
type nilEstimator struct{}

func (nilEstimator) EstimateSize(cost.AstNode) *cost.SizeEstimate { return nil }
func (nilEstimator) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// The default payload of an emission.
var defaultPayload = []stream.Field{
	{Name: "customer_id", Kind: stream.KindInt},
	{Name: "track_id", Kind: stream.KindInt},
	{Name: "event_id", Kind: stream.KindInt},
	{Name: "rule", Kind: stream.KindString},
	{Name: "rule_version", Kind: stream.KindString},
	{Name: "at", Kind: stream.KindInt},
}

func (e *Env) compileRule(r Rule) (*compiled, []fieldErr) {
	c := &compiled{Rule: r}
	var errs []fieldErr
	fail := func(field, format string, args ...any) {
		errs = append(errs, fieldErr{field: field, msg: fmt.Sprintf(format, args...)})
	}
	ast, iss := e.cel.Compile(r.When)
	if iss != nil && iss.Err() != nil {
		fail("when", "%s", iss.String())
	} else if !ast.OutputType().IsExactType(types.BoolType) {
		fail("when", "must return bool, got %s", ast.OutputType())
	} else {
		vars, reads := e.references(ast)
		c.reads = reads
		if vars["window"] && r.Window == "" {
			fail("when", "reads window but the rule has no window: name")
		}
		c.needJoins = e.neededJoins(vars)
		prg, tracked, err := e.program(ast)
		if err != nil {
			fail("when", "%v", err)
		}
		c.cond, c.condTracked = prg, tracked
		if !tracked {
			c.native = e.nativeCond(ast)
		}
	}
	fields := slices.Clone(defaultPayload)
	if r.Payload != "" {
		if err := e.compilePayload(c, &fields); err != "" {
			fail("payload", "%s", err)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c.payloadSlots = make([]int, len(c.payloadKeys))
	for i, k := range c.payloadKeys {
		c.payloadSlots[i] = slices.IndexFunc(fields, func(f stream.Field) bool { return f.Name == k })
	}
	var err error
	if c.schema, err = stream.NewSchema("emission:"+r.Name, fields...); err != nil {
		return nil, []fieldErr{{field: "payload", msg: err.Error()}}
	}
	if !slices.Contains(c.payloadKeys, "explain") {
		fields = append(fields, stream.Field{Name: "explain", Kind: stream.KindString})
	}
	if c.explainSchema, err = stream.NewSchema("emission:"+r.Name, fields...); err != nil {
		return nil, []fieldErr{{field: "payload", msg: err.Error()}}
	}
	return c, nil
}

// compilePayload checks the payload map literal and records its keys and
// kinds in fields. It returns an error message or "".
func (e *Env) compilePayload(c *compiled, fields *[]stream.Field) string {
	ast, iss := e.cel.Compile(c.Payload)
	if iss != nil && iss.Err() != nil {
		return iss.String()
	}
	root := ast.NativeRep().Expr()
	if root.Kind() != celast.MapKind {
		return `must be a map literal with string keys, e.g. {"offer_id": "gold"}`
	}
	vars, _ := e.references(ast)
	if vars["window"] && c.Window == "" {
		return "reads window but the rule has no window: name"
	}
	for _, j := range e.neededJoins(vars) {
		if !slices.Contains(c.needJoins, j) {
			c.needJoins = append(c.needJoins, j)
		}
	}
	for _, ent := range root.AsMap().Entries() {
		me := ent.AsMapEntry()
		lit := me.Key()
		if lit.Kind() != celast.LiteralKind {
			return "keys must be string literals"
		}
		key, ok := lit.AsLiteral().(types.String)
		if !ok || key == "" || me.IsOptional() {
			return "keys must be non-empty string literals"
		}
		t := ast.NativeRep().GetType(me.Value().ID())
		k, ok := payloadKind(t)
		if !ok {
			return fmt.Sprintf("field %q has type %s; want int, double, string, bool or timestamp", string(key), t)
		}
		if slices.Contains(c.payloadKeys, string(key)) {
			return fmt.Sprintf("field %q given twice", string(key))
		}
		c.payloadKeys = append(c.payloadKeys, string(key))
		if i := slices.IndexFunc(*fields, func(f stream.Field) bool { return f.Name == string(key) }); i >= 0 {
			(*fields)[i].Kind = k
		} else {
			*fields = append(*fields, stream.Field{Name: string(key), Kind: k})
		}
	}
	prg, tracked, err := e.program(ast)
	if err != nil {
		return err.Error()
	}
	c.payload, c.payloadTracked = prg, tracked
	return ""
}

func payloadKind(t *types.Type) (stream.Kind, bool) {
	switch {
	case t == nil:
		return 0, false
	case t.IsExactType(types.IntType), t.IsExactType(types.UintType):
		return stream.KindInt, true
	case t.IsExactType(types.DoubleType):
		return stream.KindFloat, true
	case t.IsExactType(types.StringType):
		return stream.KindString, true
	case t.IsExactType(types.BoolType):
		return stream.KindBool, true
	case t.IsExactType(types.TimestampType):
		return stream.KindTime, true
	}
	return 0, false
}

// references returns the declared variables an expression reads, and the
// paths (variable.field) it reads, for explanations.
func (e *Env) references(ast *cel.Ast) (map[string]bool, []readPath) {
	na := ast.NativeRep()
	refs := na.ReferenceMap()
	vars := map[string]bool{}
	var reads []readPath
	inSelect := map[int64]bool{}
	add := func(p readPath) {
		if !slices.Contains(reads, p) {
			reads = append(reads, p)
		}
	}
	celast.PreOrderVisit(na.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		switch x.Kind() {
		case celast.SelectKind:
			op := x.AsSelect().Operand()
			if op.Kind() == celast.IdentKind {
				if r, ok := refs[op.ID()]; ok && len(r.OverloadIDs) == 0 && e.isVar(r.Name) {
					inSelect[op.ID()] = true
					add(readPath{v: r.Name, field: x.AsSelect().FieldName()})
				}
			}
		case celast.IdentKind:
			if r, ok := refs[x.ID()]; ok && len(r.OverloadIDs) == 0 && e.isVar(r.Name) {
				vars[r.Name] = true
				if !inSelect[x.ID()] {
					add(readPath{v: r.Name})
				}
			}
		}
	}))
	return vars, reads
}

func (e *Env) isVar(name string) bool { return reserved[name] || e.joinIndex(name) >= 0 }

// neededJoins returns the indexes of the joins among vars.
func (e *Env) neededJoins(vars map[string]bool) []int {
	var out []int
	for i, n := range e.joins {
		if vars[n] {
			out = append(out, i)
		}
	}
	return out
}

var _ = strings.TrimSpace
