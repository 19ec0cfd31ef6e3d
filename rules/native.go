package rules

import (
	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"

	"github.com/rulestream/rulestream/stream"
)

// native is a condition of the common shape "a conjunction of int field
// comparisons with int literals" (account.level < 2 && account.status ==
// 1), evaluated without the CEL interpreter. It is exact: when every field
// read is an int, the CEL result is the conjunction of the comparisons; a
// false term makes the conjunction false whatever the others are (CEL's &&
// absorbs errors into false). A null field equals no int, as in CEL. When
// a read is anything else (null in an ordering, another kind through a
// foreign schema) eval reports !ok and the caller evaluates the CEL program
// instead.
type native struct {
	terms []nativeTerm
}

type nativeTerm struct {
	join   int // index of the join in the env
	field  string
	schema *stream.Schema // the join's declared schema
	idx    int            // field's position in schema
	op     cmpOp          // the comparison, the field its left operand
	lit    int64
}

type cmpOp uint8

const (
	opLT cmpOp = iota
	opLE
	opGT
	opGE
	opEQ
	opNE
)

// opOf maps the int overloads of the comparisons.
var opOf = map[string]cmpOp{
	overloads.LessInt64: opLT, overloads.LessEqualsInt64: opLE, overloads.GreaterInt64: opGT,
	overloads.GreaterEqualsInt64: opGE, overloads.Equals: opEQ, overloads.NotEquals: opNE,
}

// flipped gives the overload with the operands swapped (2 > x is x < 2).
var flipped = map[string]string{
	overloads.LessInt64: overloads.GreaterInt64, overloads.GreaterInt64: overloads.LessInt64,
	overloads.LessEqualsInt64: overloads.GreaterEqualsInt64, overloads.GreaterEqualsInt64: overloads.LessEqualsInt64,
	overloads.Equals: overloads.Equals, overloads.NotEquals: overloads.NotEquals,
}

var comparisons = map[string]bool{operators.Less: true, operators.LessEquals: true, operators.Greater: true,
	operators.GreaterEquals: true, operators.Equals: true, operators.NotEquals: true}

// nativeCond returns the native form of a checked condition, or nil when it
// has another shape.
func (e *Env) nativeCond(ast *cel.Ast) *native {
	na := ast.NativeRep()
	refs := na.ReferenceMap()
	n := &native{}
	var walk func(x celast.Expr) bool
	walk = func(x celast.Expr) bool {
		if x.Kind() != celast.CallKind {
			return false
		}
		call := x.AsCall()
		if call.IsMemberFunction() || len(call.Args()) != 2 {
			return false
		}
		if call.FunctionName() == operators.LogicalAnd {
			return walk(call.Args()[0]) && walk(call.Args()[1])
		}
		r, ok := refs[x.ID()]
		if !comparisons[call.FunctionName()] || !ok || len(r.OverloadIDs) != 1 {
			return false
		}
		op := r.OverloadIDs[0]
		if _, ok := flipped[op]; !ok {
			return false
		}
		sel, lit := call.Args()[0], call.Args()[1]
		if sel.Kind() == celast.LiteralKind {
			sel, lit, op = lit, sel, flipped[op]
		}
		t, ok := e.intTerm(refs, sel, lit)
		if !ok {
			return false
		}
		t.op = opOf[op]
		n.terms = append(n.terms, t)
		return true
	}
	if !walk(na.Expr()) {
		return nil
	}
	return n
}

// intTerm matches <join>.<int field> against an int literal.
func (e *Env) intTerm(refs map[int64]*celast.ReferenceInfo, sel, lit celast.Expr) (nativeTerm, bool) {
	if sel.Kind() != celast.SelectKind || lit.Kind() != celast.LiteralKind || sel.AsSelect().IsTestOnly() {
		return nativeTerm{}, false
	}
	v, ok := lit.AsLiteral().(types.Int)
	if !ok {
		return nativeTerm{}, false
	}
	id := sel.AsSelect().Operand()
	if id.Kind() != celast.IdentKind {
		return nativeTerm{}, false
	}
	r, ok := refs[id.ID()]
	if !ok || len(r.OverloadIDs) != 0 || r.Value != nil {
		return nativeTerm{}, false
	}
	j := e.joinIndex(r.Name)
	if j < 0 {
		return nativeTerm{}, false
	}
	s := e.cfg.Joins[j].Schema
	field := sel.AsSelect().FieldName()
	idx := s.Index(field)
	if idx < 0 || s.Field(idx).Kind != stream.KindInt {
		return nativeTerm{}, false
	}
	return nativeTerm{join: j, field: field, schema: s, idx: idx, lit: int64(v)}, true
}

// eval evaluates the condition on the activation's records; ok is false
// when a field read is not an int (evaluate the CEL program instead).
func (n *native) eval(act *activation) (result, ok bool) {
	if n == nil {
		return false, false
	}
	for i := range n.terms {
		t := &n.terms[i]
		if !act.have[t.join] {
			return false, false
		}
		rec, _ := act.joins[t.join].v.(*stream.Record)
		if rec == nil {
			return false, false
		}
		var v stream.Value
		if rec.Schema == t.schema && t.idx < len(rec.Values) {
			v = rec.Values[t.idx]
		} else {
			v = rec.Get(t.field)
		}
		var holds bool
		switch {
		case v.Kind() == stream.KindInt:
			holds = t.op.holds(v.Int(), t.lit)
		case v.Kind() == stream.KindNull && (t.op == opEQ || t.op == opNE):
			holds = t.op == opNE // CEL: null == 1 is false, null != 1 true
		default:
			return false, false
		}
		if !holds {
			return false, true
		}
	}
	return true, true
}

func (op cmpOp) holds(x, lit int64) bool {
	switch op {
	case opLT:
		return x < lit
	case opLE:
		return x <= lit
	case opGT:
		return x > lit
	case opGE:
		return x >= lit
	case opEQ:
		return x == lit
	}
	return x != lit
}
