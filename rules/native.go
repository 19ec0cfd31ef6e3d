package rules

import (
	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"

	"github.com/rulestream/rulestream/stream"
)

// native is a condition of the common shape "a conjunction of comparisons
// of a field with a literal" (account.level < 2 && account.status == 1,
// event.kind == 'purchase', !event.mobile), evaluated without the CEL
// interpreter. A term reads a field of a join or of the event: an int field
// compared with an int literal (any of < <= > >= == !=), a string field
// compared with a string literal (== and !=), a bool field or its negation.
// It is exact: when every field read has its declared kind, the CEL result
// is the conjunction of the terms; a false term makes the conjunction false
// whatever the others are (CEL's && absorbs errors into false). A null field
// equals no literal, as in CEL. When a read is anything else (null in an
// ordering or as a bool, another kind through a foreign schema) eval
// reports !ok and the caller evaluates the CEL program instead.
type native struct {
	terms []nativeTerm
}

type nativeTerm struct {
	join   int // index of the join in the env; -1: the event
	field  string
	schema *stream.Schema // the join's (or the event's) declared schema
	idx    int            // field's position in schema
	op     cmpOp          // the comparison, the field its left operand
	kind   stream.Kind    // of the field: int, string (== and != only) or bool (the field itself, or its negation)
	lit    int64          // int literal; for a bool term, 1 for the field, 0 for its negation
	str    string         // string literal
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
		if t, ok := e.boolTerm(refs, x); ok {
			n.terms = append(n.terms, t)
			return true
		}
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

// field resolves <join>.<field> or event.<field>: the join's index (-1
// for the event), its schema and the field's position.
func (e *Env) field(refs map[int64]*celast.ReferenceInfo, sel celast.Expr) (int, *stream.Schema, int, bool) {
	if sel.Kind() != celast.SelectKind || sel.AsSelect().IsTestOnly() {
		return 0, nil, 0, false
	}
	id := sel.AsSelect().Operand()
	if id.Kind() != celast.IdentKind {
		return 0, nil, 0, false
	}
	r, ok := refs[id.ID()]
	if !ok || len(r.OverloadIDs) != 0 || r.Value != nil {
		return 0, nil, 0, false
	}
	j, s := -1, e.schema
	if r.Name != "event" {
		if j = e.joinIndex(r.Name); j < 0 {
			return 0, nil, 0, false
		}
		s = e.cfg.Joins[j].Schema
	}
	idx := s.Index(sel.AsSelect().FieldName())
	return j, s, idx, idx >= 0
}

// intTerm matches a field of a join or of the event against a literal: an
// int field against an int, a string field against a string (== and !=).
func (e *Env) intTerm(refs map[int64]*celast.ReferenceInfo, sel, lit celast.Expr) (nativeTerm, bool) {
	if lit.Kind() != celast.LiteralKind {
		return nativeTerm{}, false
	}
	j, s, idx, ok := e.field(refs, sel)
	if !ok {
		return nativeTerm{}, false
	}
	t := nativeTerm{join: j, field: s.Field(idx).Name, schema: s, idx: idx, kind: s.Field(idx).Kind}
	switch v := lit.AsLiteral().(type) {
	case types.Int:
		if t.kind != stream.KindInt {
			return nativeTerm{}, false
		}
		t.lit = int64(v)
	case types.String:
		if t.kind != stream.KindString {
			return nativeTerm{}, false
		}
		t.str = string(v)
	default:
		return nativeTerm{}, false
	}
	return t, true
}

// boolTerm matches a bool field of a join or of the event, or its negation.
func (e *Env) boolTerm(refs map[int64]*celast.ReferenceInfo, x celast.Expr) (nativeTerm, bool) {
	want := int64(1)
	if x.Kind() == celast.CallKind && x.AsCall().FunctionName() == operators.LogicalNot && len(x.AsCall().Args()) == 1 {
		x, want = x.AsCall().Args()[0], 0
	}
	j, s, idx, ok := e.field(refs, x)
	if !ok || s.Field(idx).Kind != stream.KindBool {
		return nativeTerm{}, false
	}
	return nativeTerm{join: j, field: s.Field(idx).Name, schema: s, idx: idx, kind: stream.KindBool, op: opEQ, lit: want}, true
}

// eval evaluates the condition on the activation's records; ok is false
// when a field read is not an int (evaluate the CEL program instead).
func (n *native) eval(act *activation) (result, ok bool) {
	if n == nil {
		return false, false
	}
	for i := range n.terms {
		t := &n.terms[i]
		var v stream.Value
		if t.join < 0 {
			ev := act.ev
			if ev.Schema == t.schema && t.idx < len(ev.Fields) {
				v = ev.Fields[t.idx]
			} else {
				v = ev.Get(t.field)
			}
		} else {
			if !act.have[t.join] {
				return false, false
			}
			rec, _ := act.joins[t.join].v.(*stream.Record)
			if rec == nil {
				return false, false
			}
			if rec.Schema == t.schema && t.idx < len(rec.Values) {
				v = rec.Values[t.idx]
			} else {
				v = rec.Get(t.field)
			}
		}
		var holds bool
		switch {
		case v.Kind() != t.kind && !(v.Kind() == stream.KindNull && t.kind != stream.KindBool):
			return false, false // another kind through a foreign schema: CEL decides
		case v.Kind() == stream.KindNull && (t.op == opEQ || t.op == opNE):
			holds = t.op == opNE // CEL: null == 1 is false, null != 1 true
		case v.Kind() == stream.KindNull:
			return false, false // ordering a null: CEL's error
		case t.kind == stream.KindString:
			holds = (v.Str() == t.str) == (t.op == opEQ)
		default: // int, and bool as 1/0
			holds = t.op.holds(v.Int(), t.lit)
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
