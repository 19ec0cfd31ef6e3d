package stream

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of Value.
const (
	KindNull Kind = iota
	KindString
	KindInt
	KindFloat
	KindBool
	KindTime
)

var kindNames = [...]string{"null", "string", "int", "float", "bool", "time"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a typed field value. The zero Value is null. Values are small and
// passed by value; a string Value usually shares the memory of the record it
// was decoded from.
type Value struct {
	s string
	n int64
	k Kind
}

// Null returns the null Value.
func Null() Value { return Value{} }

// String returns a string Value.
func String(s string) Value { return Value{s: s, k: KindString} }

// Int returns an int Value.
func Int(n int64) Value { return Value{n: n, k: KindInt} }

// Float returns a float Value.
func Float(f float64) Value { return Value{n: int64(math.Float64bits(f)), k: KindFloat} }

// Bool returns a bool Value.
func Bool(b bool) Value {
	if b {
		return Value{n: 1, k: KindBool}
	}
	return Value{k: KindBool}
}

// Time returns a time Value with nanosecond precision.
func Time(t time.Time) Value { return Value{n: t.UnixNano(), k: KindTime} }

// TimeNanos returns a time Value from unix nanoseconds.
func TimeNanos(ns int64) Value { return Value{n: ns, k: KindTime} }

// Kind reports the kind of v.
func (v Value) Kind() Kind { return v.k }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.k == KindNull }

// Str returns the string of a string Value, else "".
func (v Value) Str() string {
	if v.k == KindString {
		return v.s
	}
	return ""
}

// Int returns the integer of an int Value (and the unix nanoseconds of a
// time Value, 1/0 of a bool), else 0.
func (v Value) Int() int64 {
	switch v.k {
	case KindInt, KindTime, KindBool:
		return v.n
	case KindFloat:
		return int64(math.Float64frombits(uint64(v.n)))
	}
	return 0
}

// Float returns the float of a float or int Value, else 0.
func (v Value) Float() float64 {
	switch v.k {
	case KindFloat:
		return math.Float64frombits(uint64(v.n))
	case KindInt:
		return float64(v.n)
	}
	return 0
}

// Bool returns the bool of a bool Value, else false.
func (v Value) Bool() bool { return v.k == KindBool && v.n != 0 }

// Time returns the time of a time Value (UTC), else the zero time.
func (v Value) Time() time.Time {
	if v.k != KindTime {
		return time.Time{}
	}
	return time.Unix(0, v.n).UTC()
}

// Nanos returns the unix nanoseconds of a time Value.
func (v Value) Nanos() int64 { return v.n }

// Any returns v as a Go value: nil, string, int64, float64, bool or time.Time.
func (v Value) Any() any {
	switch v.k {
	case KindString:
		return v.s
	case KindInt:
		return v.n
	case KindFloat:
		return v.Float()
	case KindBool:
		return v.n != 0
	case KindTime:
		return v.Time()
	}
	return nil
}

// Text formats v as text the way sinks write it: strings as they are, ints
// in decimal, floats shortest, bools as 1/0 (as CSV data often has them), times as
// RFC 3339 in UTC, null as "".
func (v Value) Text() string {
	switch v.k {
	case KindString:
		return v.s
	case KindInt:
		return strconv.FormatInt(v.n, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case KindBool:
		if v.n != 0 {
			return "1"
		}
		return "0"
	case KindTime:
		return v.Time().Format(time.RFC3339Nano)
	}
	return ""
}

// AppendText appends the Text form of v to b without allocating for ints.
func (v Value) AppendText(b []byte) []byte {
	switch v.k {
	case KindString:
		return append(b, v.s...)
	case KindInt:
		return strconv.AppendInt(b, v.n, 10)
	case KindFloat:
		return strconv.AppendFloat(b, v.Float(), 'g', -1, 64)
	case KindBool:
		if v.n != 0 {
			return append(b, '1')
		}
		return append(b, '0')
	case KindTime:
		return v.Time().AppendFormat(b, time.RFC3339Nano)
	}
	return b
}

// String implements fmt.Stringer for debugging.
func (v Value) String() string {
	if v.k == KindString {
		return strconv.Quote(v.s)
	}
	if v.k == KindNull {
		return "null"
	}
	return v.Text()
}

// Equal reports whether two values have the same kind and content.
func (v Value) Equal(o Value) bool { return v.k == o.k && v.n == o.n && v.s == o.s }

// ParseValue parses text as a Value of kind k. Bools accept 1/0/true/false;
// times are read in the "datetime" TimeFormat: RFC 3339 or
// "2006-01-02 15:04:05" (UTC), between MinTimeNanos and MaxTimeNanos.
func ParseValue(k Kind, text string) (Value, error) {
	switch k {
	case KindNull:
		return Value{}, nil
	case KindString:
		return String(text), nil
	case KindInt:
		n, ok := parseInt(text)
		if !ok {
			return Value{}, fmt.Errorf("%q is not an integer", text)
		}
		return Int(n), nil
	case KindFloat:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not a number", text)
		}
		return Float(f), nil
	case KindBool:
		switch text {
		case "1", "true", "TRUE", "True":
			return Bool(true), nil
		case "0", "false", "FALSE", "False":
			return Bool(false), nil
		}
		return Value{}, fmt.Errorf("%q is not a bool (1/0/true/false)", text)
	case KindTime:
		ns, err := TimeFormat{}.Parse(text)
		if err != nil {
			return Value{}, err
		}
		return TimeNanos(ns), nil
	}
	return Value{}, fmt.Errorf("unknown kind %v", k)
}
