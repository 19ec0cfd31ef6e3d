package rules

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/rulestream/rulestream/stream"
)

// firingKey returns the text of the event's key field (EngineConfig.KeyField),
// or its Key; it is computed once per event.
func (en *Engine) firingKey(ev *stream.Event) string {
	if en.keyDone {
		return en.key
	}
	en.key, en.keyDone, en.ckeyDone = ev.Key, true, false
	if en.cfg.KeyField == "" {
		return en.key
	}
	if v := ev.Get(en.cfg.KeyField); !v.IsNull() {
		if v.Kind() == stream.KindInt { // its text is canonical
			en.ckey, en.ckeyDone = coolKey{n: v.Int(), isInt: true}, true
		}
		en.keyBuf = v.AppendText(en.keyBuf[:0])
		if string(en.keyBuf) != ev.Key { // the usual case shares ev.Key
			en.key = string(en.keyBuf)
		}
	}
	return en.key
}

// coolKey returns the cooldown form of the firing key (call firingKey
// first).
func (en *Engine) coolKey() coolKey {
	if !en.ckeyDone {
		en.ckey, en.ckeyDone = textKey(en.key), true
	}
	return en.ckey
}

// timeWindow are the kinds of window results that are not an input event.
var timeWindow = map[string]bool{"tumbling": true, "sliding": true, "session": true}

// emissionID is "<rule>:<key>:<id>": id is the event's id field
// (EngineConfig.IDField) when it has one; else, for the result of a time
// window (no event fields of its own), its start and end in unix
// nanoseconds ("<start>-<end>"); else the event's position (file:line or
// topic/partition/offset) and fingerprint, which a replay of the same input
// reproduces and another record at the same position does not.
func (en *Engine) emissionID(rule, key string, ev *stream.Event) string {
	b := en.idBuf[:0]
	b = append(b, rule...)
	b = append(b, ':')
	b = append(b, key...)
	b = append(b, ':')
	id := stream.Value{}
	if en.cfg.IDField != "" {
		if ev.Schema != en.idSchema || ev.Schema == nil {
			en.idSchema, en.idIndex = ev.Schema, -1
			if ev.Schema != nil {
				en.idIndex = ev.Schema.Index(en.cfg.IDField)
			}
		}
		if i := en.idIndex; i >= 0 && i < len(ev.Fields) {
			id = ev.Fields[i]
		}
	}
	defer func() { en.idBuf = b }()
	switch {
	case !id.IsNull():
		b = id.AppendText(b)
	case ev.Window != nil && timeWindow[ev.Window.Kind]:
		b = strconv.AppendInt(b, ev.Window.Start, 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, ev.Window.End, 10)
	default:
		b = append(b, ev.Pos.String()...)
		b = append(b, ':')
		b = ev.AppendFingerprint(b)
	}
	return string(b)
}

// cut returns n zero elements cut from the block *slab, a new block of at
// least least elements once it runs short: emissions take their fields and
// joins from blocks shared by many (one allocation, not one each; a block
// is never reused, so whoever keeps an emission's slices may).
func cut[T any](slab *[]T, n, least int) []T {
	if len(*slab) < n {
		*slab = make([]T, max(n*256, least))
	}
	out := (*slab)[:n:n]
	*slab = (*slab)[n:]
	return out
}

// values returns n zero values for an emission's fields.
func (en *Engine) values(n int) []stream.Value { return cut(&en.slab, n, 4096) }

// joins returns a copy of js for an emission.
func (en *Engine) joins(js []stream.Join) []stream.Join {
	if len(js) == 0 {
		return nil
	}
	out := cut(&en.joinSlab, len(js), 1024)
	copy(out, js)
	return out
}

// emission builds the event a firing emits.
func (en *Engine) emission(set *RuleSet, c *compiled, act *activation, key string) (stream.Event, error) {
	ev := act.ev
	schema := c.schema
	if en.cfg.Explain {
		schema = c.explainSchema
	}
	f := en.values(schema.Len())
	meta := 0
	same := ev.Schema == c.env.schema
	for i, j := range c.from {
		switch {
		case j >= 0 && same && j < len(ev.Fields):
			f[i] = ev.Fields[j]
		case j >= 0:
			f[i] = ev.Get(c.env.schema.Field(j).Name)
		case meta < len(metaFields) && schema.Field(i).Name == metaFields[meta].Name:
			switch meta {
			case 0:
				f[i] = stream.String(c.Name)
			case 1:
				f[i] = stream.String(set.version)
			case 2:
				f[i] = stream.Int(ev.Time / int64(time.Millisecond))
			}
			meta++
		}
	}
	if c.payload != nil {
		v, err := en.eval(c.payload, c.payloadTracked, act)
		if err != nil {
			return stream.Event{}, err
		}
		m, ok := v.(interface{ Get(ref.Val) ref.Val })
		if !ok {
			return stream.Event{}, fmt.Errorf("payload is %s, not a map", v.Type().TypeName())
		}
		for i, k := range c.payloadKeys {
			slot := c.payloadSlots[i]
			x := m.Get(types.String(k))
			if types.IsError(x) {
				return stream.Event{}, x.(*types.Err)
			}
			f[slot] = fromCEL(x, schema.Field(slot).Kind)
		}
	}
	if en.cfg.Explain && schema != c.schema {
		f[len(f)-1] = stream.String(explain(set, c, act))
	}
	return stream.Event{
		Key:     key,
		Time:    ev.Time,
		Pos:     ev.Pos,
		Schema:  schema,
		Fields:  f,
		Joins:   en.joins(ev.Joins),
		Window:  ev.Window,
		Target:  c.Target,
		ID:      en.emissionID(c.Name, key, ev),
		Rule:    c.Name,
		Arrived: ev.Arrived,
		Seq:     ev.Seq,
	}, nil
}

// fromCEL converts a payload value to the field's kind; null stays null.
func fromCEL(v ref.Val, k stream.Kind) stream.Value {
	switch x := v.(type) {
	case types.Int:
		return stream.Int(int64(x))
	case types.Uint:
		return stream.Int(int64(x))
	case types.Double:
		return stream.Float(float64(x))
	case types.String:
		return stream.String(string(x))
	case types.Bool:
		return stream.Bool(bool(x))
	case types.Timestamp:
		return stream.Time(x.Time)
	}
	return stream.Value{}
}

// explain renders compact JSON: the rule, the set's version and the values
// the condition read, by path.
func explain(set *RuleSet, c *compiled, act *activation) string {
	b := []byte(`{"rule":`)
	b = appendJSON(b, c.Name)
	b = append(b, `,"version":`...)
	b = appendJSON(b, set.version)
	b = append(b, `,"values":{`...)
	for i, p := range c.reads {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, p.String())
		b = append(b, ':')
		b = appendJSON(b, act.read(p))
	}
	return string(append(b, "}}"...))
}

func appendJSON(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}
