package stream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ColumnsDecoder decodes positional CSV lines (no header): column i holds
// the field named by columns[i]. Strings share the line's memory; a row is
// decoded without allocating when its key is a single string field or an
// int already in canonical decimal.
//
// CSV has no null: an empty cell is the empty string for a string field and
// an error for other kinds. Bools are 1/0/true/false; ints are decimal with
// an optional sign; time fields are read in their TimeFormat.
type ColumnsDecoder struct {
	layout csvLayout
}

// NewColumnsDecoder returns a decoder of positional CSV. columns[i] names
// the field held in column i; "" or "_" skips the column. Every field of
// spec.Schema must appear in exactly one column. A line with another number
// of columns is rejected.
func NewColumnsDecoder(spec RecordSpec, columns []string) (*ColumnsDecoder, error) {
	plan, err := spec.plan()
	if err != nil {
		return nil, fmt.Errorf("columns decoder: %w", err)
	}
	sc := plan.schema
	if len(columns) == 0 {
		return nil, errors.New("columns decoder: no columns")
	}
	colOf := make([]int, sc.Len())
	for i := range colOf {
		colOf[i] = -1
	}
	cols := make([]column, len(columns))
	var errs []error
	for i, name := range columns {
		cols[i].field = -1
		if name == "" || name == "_" {
			continue
		}
		f := sc.Index(name)
		switch {
		case f < 0:
			errs = append(errs, fmt.Errorf("column %d: %q is not a field of schema %s", i+1, name, sc.Name()))
		case colOf[f] >= 0:
			errs = append(errs, fmt.Errorf("column %d: field %q is already column %d", i+1, name, colOf[f]+1))
		default:
			colOf[f] = i
			cols[i] = plan.column(f)
		}
	}
	for f, c := range colOf {
		if c < 0 {
			errs = append(errs, fmt.Errorf("field %q has no column", sc.Field(f).Name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("columns decoder: %w", err)
	}
	d := &ColumnsDecoder{layout: newCSVLayout(plan, cols)}
	d.layout.countErr = func(n int) error {
		return fmt.Errorf("%d columns, want %d (%s)", n, len(columns), strings.Join(columns, ","))
	}
	return d, nil
}

// Schema returns the declared schema.
func (d *ColumnsDecoder) Schema() *Schema { return d.layout.plan.schema }

// Decode implements Decoder.
func (d *ColumnsDecoder) Decode(line string, ev *Event) error { return d.layout.decode(line, ev) }

// column says what one CSV column holds.
type column struct {
	op    colOp
	field int // position in the schema; -1 skips the column
	tf    TimeFormat
}

// colOp is how a column is read: by the field's kind, with the common
// cases apart so that decode takes one branch per column.
type colOp uint8

const (
	opSkip colOp = iota
	opNull
	opString
	opInt
	opIntKey // an int that is the single key field: its text may be the key
	opFloat
	opBool
	opDateTime // a time in the datetime format
	opTime     // a time in another format
)

var kindOps = [...]colOp{KindNull: opNull, KindString: opString, KindInt: opInt, KindFloat: opFloat, KindBool: opBool, KindTime: opTime}

func (p *recordPlan) column(f int) column {
	c := column{op: opNull, field: f, tf: p.formats[f]}
	if k := p.schema.Field(f).Kind; int(k) < len(kindOps) {
		c.op = kindOps[k]
	}
	if c.op == opTime && c.tf.kind == timeDateTime {
		c.op = opDateTime
	}
	if c.op == opInt && len(p.keyIdx) == 1 && p.keyIdx[0] == f {
		c.op = opIntKey
	}
	return c
}

// csvLayout maps the columns of CSV rows to the fields of a record.
type csvLayout struct {
	plan     recordPlan
	cols     []column
	intKey   int // the field of a single int key, or -1
	countErr func(n int) error
}

// newCSVLayout builds the layout of cols (skipped columns have field -1).
// Every field of plan has a column.
func newCSVLayout(plan recordPlan, cols []column) csvLayout {
	l := csvLayout{plan: plan, cols: cols, intKey: -1}
	for _, c := range cols {
		if c.op == opIntKey {
			l.intKey = c.field
		}
	}
	return l
}

// quotedCell reads the quoted cell at line[k] when it has no doubled quote
// and is followed by a comma or the end, setting text and next as csvCell
// would; otherwise it is false.
func quotedCell(line string, k int, text *string, next *int) bool {
	end := strings.IndexByte(line[k+1:], '"')
	if end < 0 {
		return false
	}
	q := k + 1 + end // the closing quote
	switch {
	case q+1 == len(line):
		*text, *next = line[k+1:q], -1
	case line[q+1] == ',':
		*text, *next = line[k+1:q], q+2
	default:
		return false
	}
	return true
}

// csvSpecial marks the bytes that end an unquoted cell, or make it one
// csvCell must read.
var csvSpecial = [256]bool{',': true, '"': true}

func (l *csvLayout) decode(line string, ev *Event) error {
	f := l.plan.fields(ev)
	cols := l.cols
	raw := ""
	next := 0
	for i := range cols {
		if next < 0 {
			return l.rowErr(line, nil) // too few columns
		}
		// An unquoted cell, inline; csvCell does the rest.
		k := next
		for k < len(line) && !csvSpecial[line[k]] {
			k++
		}
		text := line[next:k]
		switch {
		case k == len(line):
			next = -1
		case line[k] == ',':
			next = k + 1
		case k == next && quotedCell(line, k, &text, &next):
		default:
			var err error
			if text, next, err = csvCell(line, next); err != nil {
				return err
			}
		}
		c := &cols[i]
		switch c.op {
		case opString:
			f[c.field] = String(text)
		case opIntKey:
			raw = text
			fallthrough
		case opInt:
			n, ok := parseInt(text)
			if !ok {
				return l.rowErr(line, l.plan.fieldErr(c.field, fmt.Errorf("%s is not an integer", quoteText(text))))
			}
			f[c.field] = Int(n)
		case opDateTime:
			if sec, ok := parseDateTimeSec(text); ok && sec >= MinTimeNanos/1e9 && sec <= MaxTimeNanos/1e9 {
				f[c.field] = TimeNanos(sec * 1e9)
				continue
			}
			fallthrough // for RFC 3339, or the error
		case opTime:
			ns, err := c.tf.Parse(text)
			if err != nil {
				return l.rowErr(line, l.plan.fieldErr(c.field, err))
			}
			f[c.field] = TimeNanos(ns)
		case opBool:
			switch {
			case len(text) == 1 && text[0] == '1':
				f[c.field] = Bool(true)
			case len(text) == 1 && text[0] == '0':
				f[c.field] = Bool(false)
			default:
				v, err := ParseValue(KindBool, text)
				if err != nil {
					return l.rowErr(line, l.plan.fieldErr(c.field, err))
				}
				f[c.field] = v
			}
		case opFloat:
			x, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return l.rowErr(line, l.plan.fieldErr(c.field, fmt.Errorf("%s is not a number", quoteText(text))))
			}
			f[c.field] = Float(x)
		case opNull:
			f[c.field] = Value{}
		}
	}
	if next >= 0 {
		return l.rowErr(line, nil) // too many columns
	}
	// Every field has a column, so the time and key fields are set.
	if t := l.plan.timeIdx; t >= 0 {
		ev.Time = f[t].n
		if err := l.plan.checkTime(ev.Time); err != nil {
			return err
		}
	}
	if l.intKey >= 0 {
		if canonicalInt(raw) {
			ev.Key = raw // no allocation
		} else {
			ev.Key = strconv.FormatInt(f[l.intKey].n, 10)
		}
		return nil
	}
	return l.plan.setKey(ev, raw)
}

// rowErr returns the error of a row that failed with err (nil: a wrong
// number of columns): a wrong number of columns, or malformed CSV after the
// failing cell, comes first.
func (l *csvLayout) rowErr(line string, err error) error {
	cells, serr := splitCSV(line, nil)
	if serr != nil {
		return serr
	}
	if len(cells) != len(l.cols) || err == nil {
		return l.countErr(len(cells))
	}
	return err
}
