package stream

import (
	"errors"
	"fmt"
	"strconv"
)

// JSONConfig configures a JSONDecoder. The zero value is the default.
type JSONConfig struct {
	// Strict makes a key that names no field of the schema a decode error.
	// Default false: such keys are skipped, with their values.
	Strict bool
}

// JSONDecoder decodes one JSON object per record: a line of JSON lines, or
// a Kafka message. Top-level keys name fields of the schema; nested objects
// are not fields (declare such a key as nothing and it is skipped).
//
// Values by kind: a string field takes a JSON string; an int field an
// integer number in int64's range (no fraction or exponent); a float field
// any number; a bool field true or false (not 1/0 or strings: JSON has
// booleans); a time field a string, or a number when its TimeFormat is a
// unix one. A missing key or null gives a null value, except for the time
// field and the key fields, which are required. A key named twice, any other
// type, malformed JSON or text after the object is an error; the errors of a
// field are *FieldError. Strings share the record's memory unless they have
// escapes; a record is decoded without allocating when its key is a single
// string field without escapes or an int field.
type JSONDecoder struct {
	plan   recordPlan
	strict bool
	names  []string // field names by position
	kinds  []Kind
	index  map[string]int
}

// NewJSONDecoder returns a decoder of JSON objects over a declared schema.
func NewJSONDecoder(spec RecordSpec, cfg JSONConfig) (*JSONDecoder, error) {
	plan, err := spec.plan()
	if err != nil {
		return nil, fmt.Errorf("JSON decoder: %w", err)
	}
	d := &JSONDecoder{plan: plan, strict: cfg.Strict, index: make(map[string]int, plan.schema.Len())}
	for i := 0; i < plan.schema.Len(); i++ {
		f := plan.schema.Field(i)
		d.names = append(d.names, f.Name)
		d.kinds = append(d.kinds, f.Kind)
		d.index[f.Name] = i
	}
	return d, nil
}

// Schema returns the declared schema.
func (d *JSONDecoder) Schema() *Schema { return d.plan.schema }

// Decode implements Decoder.
func (d *JSONDecoder) Decode(line string, ev *Event) error {
	f := d.plan.fields(ev)
	clear(f)
	var small [4]uint64 // fields seen, for up to 256 fields
	seen := small[:]
	if n := len(f); n > 256 {
		seen = make([]uint64, (n+63)/64)
	}
	keyRaw := ""
	p := jsonScanner{s: line}
	p.ws()
	if p.peek() != '{' {
		return errors.New("not a JSON object")
	}
	p.i++
	p.ws()
	if p.peek() == '}' {
		p.i++
	} else {
		next := 0 // the field expected next: keys usually come in schema order
		for {
			if p.peek() != '"' {
				return p.syntaxErr("a key string")
			}
			name, esc, err := p.str()
			if err != nil {
				return err
			}
			if esc {
				name = unescapeJSON(name)
			}
			if err := p.colon(); err != nil {
				return err
			}
			i := -1
			if next < len(d.names) && d.names[next] == name {
				i = next
			} else if j, ok := d.index[name]; ok {
				i = j
			}
			if i < 0 {
				if d.strict {
					return &FieldError{Field: name, Err: ErrUnknownField}
				}
				if err := p.skip(2); err != nil {
					return err
				}
			} else {
				if seen[i/64]&(1<<(i%64)) != 0 {
					return d.plan.fieldErr(i, ErrDuplicateField)
				}
				seen[i/64] |= 1 << (i % 64)
				next = i + 1
				raw, err := d.value(&p, i, f)
				if err != nil {
					return err
				}
				if len(d.plan.keyIdx) == 1 && i == d.plan.keyIdx[0] {
					keyRaw = raw
				}
			}
			p.ws()
			if c := p.peek(); c == ',' {
				p.i++
				p.ws()
				continue
			} else if c == '}' {
				p.i++
				break
			}
			return p.syntaxErr("',' or '}'")
		}
	}
	p.ws()
	if p.i < len(p.s) {
		return fmt.Errorf("text after the JSON object at byte %d", p.i)
	}
	if err := d.plan.setTime(ev); err != nil {
		return err
	}
	return d.plan.setKey(ev, keyRaw)
}

// value reads the value of field i into f[i]. It returns the number text of
// an int, for the key.
func (d *JSONDecoder) value(p *jsonScanner, i int, f []Value) (string, error) {
	kind := d.kinds[i]
	switch c := p.peek(); {
	case c == '"':
		text, esc, err := p.str()
		if err != nil {
			return "", err
		}
		if esc {
			text = unescapeJSON(text)
		}
		switch kind {
		case KindString:
			f[i] = String(text)
			return "", nil
		case KindTime:
			ns, err := d.plan.formats[i].Parse(text)
			if err != nil {
				return "", d.plan.fieldErr(i, err)
			}
			f[i] = TimeNanos(ns)
			return "", nil
		}
		return "", d.typeErr(i, "a string")
	case c == '-' || (c >= '0' && c <= '9'):
		text, isInt, err := p.number()
		if err != nil {
			return "", err
		}
		switch kind {
		case KindInt:
			n, ok := parseInt(text)
			if !isInt || !ok {
				return "", d.plan.fieldErr(i, fmt.Errorf("%s is not an integer in int64's range", quoteText(text)))
			}
			f[i] = Int(n)
			return text, nil
		case KindFloat:
			x, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return "", d.plan.fieldErr(i, fmt.Errorf("%s is out of a float's range", quoteText(text)))
			}
			f[i] = Float(x)
			return "", nil
		case KindTime:
			if tf := d.plan.formats[i]; tf.Numeric() {
				ns, err := tf.Parse(text)
				if err != nil {
					return "", d.plan.fieldErr(i, err)
				}
				f[i] = TimeNanos(ns)
				return "", nil
			}
		}
		return "", d.typeErr(i, "a number")
	case c == 't' || c == 'f':
		word := "true"
		if c == 'f' {
			word = "false"
		}
		if err := p.literal(word); err != nil {
			return "", err
		}
		if kind != KindBool {
			return "", d.typeErr(i, "a bool")
		}
		f[i] = Bool(c == 't')
		return "", nil
	case c == 'n':
		if err := p.literal("null"); err != nil {
			return "", err
		}
		f[i] = Value{}
		return "", nil
	case c == '{':
		return "", d.typeErr(i, "an object")
	case c == '[':
		return "", d.typeErr(i, "an array")
	}
	return "", p.syntaxErr("a value")
}

func (d *JSONDecoder) typeErr(i int, got string) error {
	want := "a " + d.kinds[i].String()
	switch d.kinds[i] {
	case KindInt:
		want = "an integer"
	case KindTime:
		want = "a time string"
		if d.plan.formats[i].Numeric() {
			want = "a time (number or string)"
		}
	}
	return d.plan.fieldErr(i, fmt.Errorf("want %s, got %s", want, got))
}
