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
	key     *Template
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
	c := &writer{w: w, key: MustTemplate(w.Key), payload: fieldPicker{names: w.Fields}}
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
		return stream.Value{}, fmt.Errorf("%s: event %s has no value for field %q", c.w, describe(ev), p.names[0])
	}
	return ev.Fields[i], nil
}

// encode appends the command for ev to p as [nargs, cmd, key, args...].
func (c *writer) encode(p *packer, ev *stream.Event) error {
	nat := p.placeholder()
	start := p.n
	p.str(c.w.Op.String())
	var err error
	c.scratch, err = c.key.AppendTo(c.scratch[:0], ev)
	if err != nil {
		return fmt.Errorf("%s: %w", c.w, err)
	}
	p.bytes(c.scratch)
	switch c.w.Op {
	case OpStream, OpHash:
		if c.maxLen != "" {
			p.str("MAXLEN")
			p.str("~")
			p.str(c.maxLen)
		}
		if c.w.Op == OpStream {
			p.str("*")
		}
		if c.w.IDField != "" {
			p.str(c.w.IDField)
			p.str(ev.ID)
		}
		if err := c.pairs(p, ev); err != nil {
			return err
		}
	case OpSortedSet:
		if c.w.NX {
			p.str("NX")
		}
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
	p.patch(nat, p.n-start)
	return nil
}

// pairs writes the payload as field/value pairs.
func (c *writer) pairs(p *packer, ev *stream.Event) error {
	idx := c.payload.pick(ev.Schema)
	for j, i := range idx {
		if i < 0 {
			return fmt.Errorf("%s: event %s has no field %q", c.w, describe(ev), c.payload.names[j])
		}
		p.str(ev.Schema.Field(i).Name)
		var v stream.Value
		if i < len(ev.Fields) {
			v = ev.Fields[i]
		}
		c.scratch = v.AppendText(c.scratch[:0])
		p.bytes(c.scratch)
	}
	if len(idx) == 0 {
		return fmt.Errorf("%s: event %s has no fields to write", c.w, describe(ev))
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
		return fmt.Errorf("%s: event %s: score field %q is a %v, not a number or time", c.w, describe(ev), c.w.Score, v.Kind())
	}
	return nil
}

// element puts a member or list element into scratch.
func (c *writer) element(ev *stream.Event) error {
	if c.w.Member == "" {
		if ev.Schema == nil {
			return fmt.Errorf("%s: event %s has no schema", c.w, describe(ev))
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
