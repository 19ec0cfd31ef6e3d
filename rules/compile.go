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
	env            *Env // the environment it runs in (its window's, or the base)
	index          int
	cond           cel.Program
	condTracked    bool
	payload        cel.Program
	payloadTracked bool
	payloadKeys    []string
	payloadSlots   []int // schema position of each payload key
	from           []int // per emission field: its position in the event schema, or -1
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

// The fields every emission carries after the event's: the rule's name, the
// rule set's version and the event time in unix milliseconds.
var metaFields = []stream.Field{
	{Name: "rule", Kind: stream.KindString},
	{Name: "rule_version", Kind: stream.KindString},
	{Name: "at", Kind: stream.KindInt},
}

// MetaFields returns the names of the fields every emission carries after
// the event's fields: rule, rule_version and at.
func MetaFields() []string { return []string{"rule", "rule_version", "at"} }

// emissionFields is the layout of an emission before its payload: the
// event's fields (but those named like a meta field), then the meta fields.
func emissionFields(event *stream.Schema) ([]stream.Field, []int) {
	var fields []stream.Field
	var from []int // per field: its position in the event schema, or -1
	for i := 0; i < event.Len(); i++ {
		f := event.Field(i)
		if slices.ContainsFunc(metaFields, func(m stream.Field) bool { return m.Name == f.Name }) {
			continue
		}
		fields = append(fields, f)
		from = append(from, i)
	}
	for range metaFields {
		from = append(from, -1)
	}
	return append(fields, metaFields...), from
}

// celErrors turns cel's issues into field errors placed in the expression
// (1-based line and column), each with cel's message and a caret excerpt.
func celErrors(field, expr string, iss *cel.Issues) []fieldErr {
	var out []fieldErr
	lines := strings.Split(expr, "\n")
	for _, e := range iss.Errors() {
		line, col := e.Location.Line(), e.Location.Column()
		msg := e.Message
		if line >= 1 && line <= len(lines) && col >= 0 {
			text := lines[line-1]
			caret := strings.Repeat(".", min(col, len(text))) + "^"
			msg += "\n | " + text + "\n | " + caret
		}
		out = append(out, fieldErr{field: field, msg: msg, line: max(line, 1), col: max(col, 0) + 1})
	}
	if len(out) == 0 {
		out = append(out, fieldErr{field: field, msg: iss.String()})
	}
	return out
}

func (e *Env) compileRule(r Rule) (*compiled, []fieldErr) {
	c := &compiled{Rule: r}
	var errs []fieldErr
	fail := func(field, format string, args ...any) {
		errs = append(errs, fieldErr{field: field, msg: fmt.Sprintf(format, args...)})
	}
	if r.Target != "" {
		if err := e.checkTarget(r.Target); err != nil {
			fail("target", "%v", err)
		}
	}
	re, err := e.envFor(r.Window)
	if err != nil {
		fail("window", "%v", err)
		return nil, errs
	}
	c.env = re
	ast, iss := re.cel.Compile(r.When)
	if iss != nil && iss.Err() != nil {
		errs = append(errs, celErrors("when", r.When, iss)...)
	} else if !ast.OutputType().IsExactType(types.BoolType) {
		fail("when", "must return bool, got %s", ast.OutputType())
	} else {
		vars, reads := re.references(ast)
		c.reads = reads
		if vars["window"] && r.Window == "" {
			fail("when", "reads window but the rule has no window: name")
		}
		c.needJoins = re.neededJoins(vars)
		prg, tracked, err := re.program(ast)
		if err != nil {
			fail("when", "%v", err)
		}
		c.cond, c.condTracked = prg, tracked
		if !tracked {
			c.native = re.nativeCond(ast)
		}
	}
	fields, from := emissionFields(re.schema)
	c.from = from
	if r.Payload != "" {
		errs = append(errs, re.compilePayload(c, &fields)...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for len(c.from) < len(fields) {
		c.from = append(c.from, -1)
	}
	c.payloadSlots = make([]int, len(c.payloadKeys))
	for i, k := range c.payloadKeys {
		c.payloadSlots[i] = slices.IndexFunc(fields, func(f stream.Field) bool { return f.Name == k })
	}
	if c.schema, err = stream.NewSchema("emission:"+r.Name, fields...); err != nil {
		return nil, []fieldErr{{field: "payload", msg: err.Error()}}
	}
	if !slices.ContainsFunc(fields, func(f stream.Field) bool { return f.Name == "explain" }) {
		fields = append(fields, stream.Field{Name: "explain", Kind: stream.KindString})
	}
	if c.explainSchema, err = stream.NewSchema("emission:"+r.Name, fields...); err != nil {
		return nil, []fieldErr{{field: "payload", msg: err.Error()}}
	}
	return c, nil
}

// compilePayload checks the payload map literal and records its keys and
// kinds in fields. A payload key naming an event field replaces it.
func (e *Env) compilePayload(c *compiled, fields *[]stream.Field) []fieldErr {
	ast, iss := e.cel.Compile(c.Payload)
	if iss != nil && iss.Err() != nil {
		return celErrors("payload", c.Payload, iss)
	}
	if msg := e.payloadLayout(c, ast, fields); msg != "" {
		return []fieldErr{{field: "payload", msg: msg}}
	}
	return nil
}

// payloadLayout checks the payload's shape and types, and compiles it. It
// returns an error message or "".
func (e *Env) payloadLayout(c *compiled, ast *cel.Ast, fields *[]stream.Field) string {
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
			if i < len(c.from) {
				c.from[i] = -1 // the payload's value, not the event's
			}
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
