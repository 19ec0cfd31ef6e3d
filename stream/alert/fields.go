package alert

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/rulestream/rulestream/stream/metrics"
)

// TimeFormat is how the alerts' times are written (queue:alerts, the
// webhook's JSON): RFC 3339 in UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Fields returns the field-value pairs of a's queue:alerts entry, in this
// order (a contract): source, kind, observed, expected, since, at. Rates
// are decimals in events/s (no exponent), times TimeFormat (empty when
// zero).
func Fields(a metrics.Alert) []string {
	return []string{
		"source", a.Source,
		"kind", string(a.Kind),
		"observed", formatRate(a.Observed),
		"expected", formatRate(a.Expected),
		"since", formatTime(a.Since),
		"at", formatTime(a.At),
	}
}

// ParseFields reads back an entry's values (Fields; a go-redis XMessage's
// Values). Fields it does not know are ignored.
func ParseFields(values map[string]any) (metrics.Alert, error) {
	str := func(k string) (string, error) {
		switch v := values[k].(type) {
		case string:
			return v, nil
		case nil:
			return "", fmt.Errorf("alert: entry has no %q", k)
		default:
			return "", fmt.Errorf("alert: entry's %q is a %T", k, v)
		}
	}
	var a metrics.Alert
	var errs []error
	for _, f := range []struct {
		name string
		set  func(string) error
	}{
		{"source", func(s string) error { a.Source = s; return nil }},
		{"kind", func(s string) error { a.Kind = metrics.AlertKind(s); return nil }},
		{"observed", func(s string) (err error) { a.Observed, err = strconv.ParseFloat(s, 64); return err }},
		{"expected", func(s string) (err error) { a.Expected, err = strconv.ParseFloat(s, 64); return err }},
		{"since", func(s string) (err error) { a.Since, err = parseTime(s); return err }},
		{"at", func(s string) (err error) { a.At, err = parseTime(s); return err }},
	} {
		s, err := str(f.name)
		if err == nil {
			err = f.set(s)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("alert: field %s: %w", f.name, err))
		}
	}
	return a, errors.Join(errs...)
}

func formatRate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}
