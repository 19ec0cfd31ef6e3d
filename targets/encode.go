package targets

import (
	"fmt"
	"strconv"

	"github.com/rulestream/rulestream/stream"
)

// writer is a compiled Write: its template parsed and its field lookups
// cached per schema.
type writer struct {
	w       Write
	key     *stream.Template
	payload fieldPicker
	member  fieldPicker
	score   fieldPicker
	maxLen  string
	scratch []byte
}

func compile(w Write) (*writer, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	c := &writer{w: w, key: stream.MustTemplate(w.Key), payload: fieldPicker{names: w.Fields}}
	if w.Fields == nil {
		c.payload.names = nil
	}
	if w.Member != "" {
		c.member.names = []string{w.Member}
	}
	if w.Score != "" {
		c.score.names = []string{w.Score}
	}
	if w.MaxLen > 0 {
		c.maxLen = strconv.FormatInt(w.MaxLen, 10)
	}
	return c, nil
}

// one returns the single picked field of ev, or an error naming it.
func (c *writer) one(p *fieldPicker, ev *stream.Event) (stream.Value, error) {
	i := p.pick(ev.Schema)[0]
	if i < 0 || i >= len(ev.Fields) || ev.Fields[i].IsNull() {
		return stream.Value{}, fmt.Errorf("%s: event %s has no value for field %q", c.w, ev.Describe(), p.names[0])
	}
	return ev.Fields[i], nil
}

// layout returns the arguments of the write's command for events of
// schema s: literals where they do not depend on the event (the key when
// it has no placeholders, field names), values where they do. An error
// (the schema lacks a payload field) is reported for each event of s.
func (c *writer) layout(s *stream.Schema) ([]arg, error) {
	args := []arg{{lit: c.w.Op.String()}}
	if c.key.Static() {
		key, _ := c.key.Render(&stream.Event{}) // "{{" becomes "{"
		args = append(args, arg{lit: key})
	} else {
		args = append(args, arg{value: true})
	}
	switch c.w.Op {
	case OpStream, OpHash:
		if c.maxLen != "" {
			args = append(args, arg{lit: "MAXLEN"}, arg{lit: "~"}, arg{lit: c.maxLen})
		}
		if c.w.Op == OpStream {
			args = append(args, arg{lit: "*"})
		}
		if c.w.IDField != "" {
			args = append(args, arg{lit: c.w.IDField}, arg{id: true})
		}
		idx := c.payload.pick(s)
		for j, i := range idx {
			if i < 0 {
				return nil, fmt.Errorf("%s: schema %s has no field %q", c.w, schemaName(s), c.payload.names[j])
			}
			args = append(args, arg{lit: s.Field(i).Name}, arg{value: true})
		}
		if len(idx) == 0 {
			return nil, fmt.Errorf("%s: schema %s has no fields to write", c.w, schemaName(s))
		}
	case OpSortedSet:
		switch {
		case c.w.NX:
			args = append(args, arg{lit: "NX"})
		case c.w.LT:
			args = append(args, arg{lit: "LT"})
		}
		args = append(args, arg{value: true}, arg{value: true})
	case OpList, OpSet:
		args = append(args, arg{value: true})
	}
	return args, nil
}

func schemaName(s *stream.Schema) string {
	if s == nil {
		return "(none)"
	}
	return strconv.Quote(s.Name())
}

// encode appends the values of ev's command to p, in the order of layout.
func (c *writer) encode(p *packer, ev *stream.Event) error {
	if !c.key.Static() {
		var err error
		c.scratch, err = c.key.AppendTo(c.scratch[:0], ev)
		if err != nil {
			return fmt.Errorf("%s: %w", c.w, err)
		}
		p.bytes(c.scratch)
	}
	switch c.w.Op {
	case OpStream, OpHash:
		for _, i := range c.payload.pick(ev.Schema) {
			var v stream.Value
			if i < len(ev.Fields) {
				v = ev.Fields[i]
			}
			c.scratch = v.AppendText(c.scratch[:0])
			p.bytes(c.scratch)
		}
	case OpSortedSet:
		if err := c.scoreText(ev); err != nil {
			return err
		}
		p.bytes(c.scratch)
		fallthrough
	case OpList, OpSet:
		if err := c.element(ev); err != nil {
			return err
		}
		p.bytes(c.scratch)
	}
	return nil
}

// scoreText puts the sorted-set score into scratch.
func (c *writer) scoreText(ev *stream.Event) error {
	if c.w.Score == "" {
		c.scratch = strconv.AppendInt(c.scratch[:0], ev.Time/1e6, 10)
		return nil
	}
	v, err := c.one(&c.score, ev)
	if err != nil {
		return err
	}
	switch v.Kind() {
	case stream.KindInt:
		c.scratch = strconv.AppendInt(c.scratch[:0], v.Int(), 10)
	case stream.KindTime:
		c.scratch = strconv.AppendInt(c.scratch[:0], v.Nanos()/1e6, 10)
	case stream.KindFloat:
		c.scratch = strconv.AppendFloat(c.scratch[:0], v.Float(), 'g', -1, 64)
	default:
		return fmt.Errorf("%s: event %s: score field %q is a %v, not a number or time", c.w, ev.Describe(), c.w.Score, v.Kind())
	}
	return nil
}

// element puts a member or list element into scratch.
func (c *writer) element(ev *stream.Event) error {
	if c.w.Member == "" {
		if ev.Schema == nil {
			return fmt.Errorf("%s: event %s has no schema", c.w, ev.Describe())
		}
		c.scratch = appendJSON(c.scratch[:0], ev, c.payload.pick(ev.Schema), c.payload.names)
		return nil
	}
	v, err := c.one(&c.member, ev)
	if err != nil {
		return err
	}
	c.scratch = v.AppendText(c.scratch[:0])
	return nil
}
