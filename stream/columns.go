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
	d := &ColumnsDecoder{layout: newCSVLayout(plan, cols, colOf)}
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
	field int // position in the schema; -1 skips the column
	kind  Kind
	tf    TimeFormat
}

func (p *recordPlan) column(f int) column {
	return column{field: f, kind: p.schema.Field(f).Kind, tf: p.formats[f]}
}

// csvLayout maps the columns of CSV rows to the fields of a record.
type csvLayout struct {
	plan     recordPlan
	cols     []column
	keyCol   int // the column of the single key field, or -1
	countErr func(n int) error
}

// newCSVLayout builds the layout of cols; colOf gives the column of each
// field.
func newCSVLayout(plan recordPlan, cols []column, colOf []int) csvLayout {
	l := csvLayout{plan: plan, cols: cols, keyCol: -1}
	if len(plan.keyIdx) == 1 {
		l.keyCol = colOf[plan.keyIdx[0]]
	}
	return l
}

func (l *csvLayout) decode(line string, ev *Event) error {
	f := l.plan.fields(ev)
	cols, keyCol := l.cols, l.keyCol
	raw := ""
	next := 0
	for i := range cols {
		if next < 0 {
			return l.rowErr(line, nil) // too few columns
		}
		var text string
		var err error
		text, next, err = csvCell(line, next)
		if err != nil {
			return err
		}
		c := &cols[i]
		if c.field < 0 {
			continue
		}
		if i == keyCol {
			raw = text
		}
		switch c.kind {
		case KindString:
			f[c.field] = String(text)
		case KindInt:
			n, ok := parseInt(text)
			if !ok {
				return l.rowErr(line, l.plan.fieldErr(c.field, fmt.Errorf("%s is not an integer", quoteText(text))))
			}
			f[c.field] = Int(n)
		case KindTime:
			if c.tf.kind == timeDateTime {
				// The common case, inline.
				if sec, ok := parseDateTimeSec(text); ok && sec >= MinTimeNanos/1e9 && sec <= MaxTimeNanos/1e9 {
					f[c.field] = TimeNanos(sec * 1e9)
					continue
				}
			}
			ns, err := c.tf.Parse(text)
			if err != nil {
				return l.rowErr(line, l.plan.fieldErr(c.field, err))
			}
			f[c.field] = TimeNanos(ns)
		case KindBool:
			switch text {
			case "1":
				f[c.field] = Bool(true)
			case "0":
				f[c.field] = Bool(false)
			default:
				v, err := ParseValue(KindBool, text)
				if err != nil {
					return l.rowErr(line, l.plan.fieldErr(c.field, err))
				}
				f[c.field] = v
			}
		case KindFloat:
			x, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return l.rowErr(line, l.plan.fieldErr(c.field, fmt.Errorf("%s is not a number", quoteText(text))))
			}
			f[c.field] = Float(x)
		default:
			f[c.field] = Value{}
		}
	}
	if next >= 0 {
		return l.rowErr(line, nil) // too many columns
	}
	if err := l.plan.setTime(ev); err != nil {
		return err
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
