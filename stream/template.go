package stream

import (
	"fmt"
	"strings"
)

// Template is a key or topic template such as "alerts:{user}": text
// with placeholders naming event fields. "{{" and "}}" stand for literal
// braces. Three names are special: {$target}, {$key} and {$id} are the
// event's Target, Key and ID. A Template is immutable and safe to share.
type Template struct {
	src   string
	parts []part
}

type part struct {
	lit   string // literal text, when field == ""
	field string // field name of a placeholder
}

// ParseTemplate parses a template. An unclosed or empty placeholder is an
// error naming the byte offset.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{src: s}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return nil, fmt.Errorf("template %q: offset %d: unmatched '}' (write '}}' for a literal brace)", s, i)
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("template %q: offset %d: unclosed '{'", s, i)
			}
			name := s[i+1 : i+1+end]
			if name == "" || strings.ContainsAny(name, "{ ") {
				return nil, fmt.Errorf("template %q: offset %d: bad placeholder {%s}", s, i, name)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, part{lit: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, part{field: name})
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, nil
}

// MustTemplate is ParseTemplate for literal templates; it panics on error.
func MustTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template's source text.
func (t *Template) String() string { return t.src }

// Fields returns the field names the template reads, in order.
func (t *Template) Fields() []string {
	var out []string
	for _, p := range t.parts {
		if p.field != "" {
			out = append(out, p.field)
		}
	}
	return out
}

// Static reports whether the template has no placeholders.
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.field != "" {
			return false
		}
	}
	return true
}

// AppendTo appends the template filled from ev to b. A placeholder whose
// field is missing or null is an error: a key is never written with a hole.
func (t *Template) AppendTo(b []byte, ev *Event) ([]byte, error) {
	for _, p := range t.parts {
		if p.field == "" {
			b = append(b, p.lit...)
			continue
		}
		switch p.field {
		case "$target":
			b = append(b, ev.Target...)
			continue
		case "$key":
			b = append(b, ev.Key...)
			continue
		case "$id":
			b = append(b, ev.ID...)
			continue
		}
		v := ev.Get(p.field)
		if v.IsNull() {
			return b, fmt.Errorf("template %q: event %s has no value for {%s}", t.src, ev.Describe(), p.field)
		}
		b = v.AppendText(b)
	}
	return b, nil
}

// Render returns the template filled from ev.
func (t *Template) Render(ev *Event) (string, error) {
	b, err := t.AppendTo(nil, ev)
	return string(b), err
}

// Describe names an event in error messages: its ID and target, else its
// position and target.
func (ev *Event) Describe() string {
	if ev.ID != "" {
		return fmt.Sprintf("%q (target %q)", ev.ID, ev.Target)
	}
	return fmt.Sprintf("at %s (target %q)", ev.Pos.String(), ev.Target)
}
