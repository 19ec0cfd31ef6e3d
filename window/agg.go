package window

import (
	"errors"
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// AggKind names a built-in aggregate.
type AggKind uint8

// The aggregates. Null values are skipped by all but AggCount.
const (
	AggCount    AggKind = iota + 1 // events in the window
	AggSum                         // sum of the field: int while all values are ints, else float
	AggMin                         // smallest value
	AggMax                         // largest value
	AggFirst                       // value of the earliest event (ties: smallest value)
	AggLast                        // value of the latest event (ties: largest value)
	AggDistinct                    // number of distinct values
	aggCustom
)

// Aggregate is one aggregate a window computes; its result is
// WindowInfo.Aggs[Name]. Build them with Count, Sum, Min, Max, First, Last,
// DistinctCount or Custom. Every aggregate is independent of the order in
// which events arrive (First/Last go by event time), so results are too;
// a Custom aggregate must be commutative for the same guarantee.
type Aggregate struct {
	Name  string
	Kind  AggKind
	Field string
	fn    customFunc
}

// Count counts the events of the window.
func Count(name string) Aggregate { return Aggregate{Name: name, Kind: AggCount} }

// Sum adds up a numeric field.
func Sum(name, field string) Aggregate { return Aggregate{Name: name, Kind: AggSum, Field: field} }

// Min keeps the smallest value of a field.
func Min(name, field string) Aggregate { return Aggregate{Name: name, Kind: AggMin, Field: field} }

// Max keeps the largest value of a field.
func Max(name, field string) Aggregate { return Aggregate{Name: name, Kind: AggMax, Field: field} }

// First keeps the field of the earliest event.
func First(name, field string) Aggregate {
	return Aggregate{Name: name, Kind: AggFirst, Field: field}
}

// Last keeps the field of the latest event.
func Last(name, field string) Aggregate { return Aggregate{Name: name, Kind: AggLast, Field: field} }

// DistinctCount counts the distinct values of a field (exactly).
func DistinctCount(name, field string) Aggregate {
	return Aggregate{Name: name, Kind: AggDistinct, Field: field}
}

// AggregateFunc is a user-defined aggregate over accumulators of type A.
// The zero A is the empty accumulator. Add folds in one non-null value,
// Merge combines two accumulators (session windows merge), Result gives the
// value rules see. Encode and Decode carry an accumulator in snapshots.
type AggregateFunc[A any] interface {
	Add(acc A, v stream.Value) A
	Merge(a, b A) A
	Result(acc A) stream.Value
	Encode(acc A) []byte
	Decode(b []byte) (A, error)
}

// Custom wraps a user-defined aggregate of a field.
func Custom[A any](name, field string, f AggregateFunc[A]) Aggregate {
	return Aggregate{Name: name, Kind: aggCustom, Field: field, fn: custom[A]{f}}
}

// customFunc erases A so windows hold accumulators of any type.
type customFunc interface {
	add(acc any, v stream.Value) any
	merge(a, b any) any
	result(acc any) stream.Value
	encode(acc any) []byte
	decode(b []byte) (any, error)
}

type custom[A any] struct{ f AggregateFunc[A] }

func (c custom[A]) get(acc any) A {
	if a, ok := acc.(A); ok {
		return a
	}
	var zero A
	return zero
}
func (c custom[A]) add(acc any, v stream.Value) any { return c.f.Add(c.get(acc), v) }
func (c custom[A]) merge(a, b any) any              { return c.f.Merge(c.get(a), c.get(b)) }
func (c custom[A]) result(acc any) stream.Value     { return c.f.Result(c.get(acc)) }
func (c custom[A]) encode(acc any) []byte           { return c.f.Encode(c.get(acc)) }

// decode turns a panic of the user's Decode on corrupt bytes into an error.
func (c custom[A]) decode(b []byte) (acc any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decode panicked: %v", r)
		}
	}()
	return c.f.Decode(b)
}

func checkAggs(aggs []Aggregate) []error {
	var errs []error
	seen := map[string]bool{}
	for i, a := range aggs {
		if a.Name == "" {
			errs = append(errs, fmt.Errorf("aggregate %d has no name", i))
		}
		if seen[a.Name] {
			errs = append(errs, fmt.Errorf("aggregate %q declared twice", a.Name))
		}
		seen[a.Name] = true
		switch {
		case a.Kind < AggCount || a.Kind > aggCustom:
			errs = append(errs, fmt.Errorf("aggregate %q: unknown kind %d", a.Name, a.Kind))
		case a.Kind == aggCustom && a.fn == nil:
			errs = append(errs, fmt.Errorf("aggregate %q: build custom aggregates with Custom", a.Name))
		case a.Kind != AggCount && a.Field == "":
			errs = append(errs, fmt.Errorf("aggregate %q needs a Field", a.Name))
		}
	}
	if len(errs) > 0 {
		return []error{errors.Join(errs...)}
	}
	return nil
}
