package stream

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The range of event times: what int64 unix nanoseconds can hold, less a
// margin of about 100 days at the low end so that a watermark bound
// subtracted from the earliest time cannot wrap around.
const (
	// MinTimeNanos is 1678-01-01T00:00:00Z in unix nanoseconds.
	MinTimeNanos int64 = -9214560000 * 1e9
	// MaxTimeNanos is 2262-04-11T23:47:16.854775807Z, the largest int64.
	MaxTimeNanos int64 = 1<<63 - 1
)

// ErrTimeOutOfRange is wrapped by errors of times before MinTimeNanos or
// after MaxTimeNanos.
var ErrTimeOutOfRange = errors.New("outside the representable time range (1678-01-01 to 2262-04-11)")

var (
	minTime = time.Unix(0, MinTimeNanos).UTC()
	maxTime = time.Unix(0, MaxTimeNanos).UTC()
)

func errTimeRange(text string) error {
	return fmt.Errorf("%s is %w", quoteText(text), ErrTimeOutOfRange)
}

// TimeFormat says how a time is written in the input. The zero TimeFormat is
// "datetime". Build one with ParseTimeFormat; the formats are:
//
//   - "datetime" (or ""): YYYY-MM-DD hh:mm:ss in UTC, with a 'T' or a
//     space between date and time and an optional trailing 'Z', or RFC 3339
//     (any offset, fractional seconds).
//   - "rfc3339": RFC 3339 only, fractional seconds allowed.
//   - "unix": seconds since 1970-01-01 UTC, an integer with an optional
//     decimal fraction ("1412157600", "1412157600.25").
//   - "unix_ms", "unix_us", "unix_ns": integer milliseconds, microseconds
//     or nanoseconds since 1970-01-01 UTC.
//   - anything else is a Go time layout ("02/01/2006 15:04", "2006-01-02T15:04:05Z07:00"),
//     read in UTC unless the layout has a zone. It must contain a year.
//
// The unix formats take JSON numbers as well as strings. Exponents are not
// accepted. Every format refuses times outside MinTimeNanos..MaxTimeNanos
// with an error wrapping ErrTimeOutOfRange.
type TimeFormat struct {
	kind   timeKind
	layout string
}

type timeKind uint8

const (
	timeDateTime timeKind = iota
	timeRFC3339
	timeUnix
	timeUnixMs
	timeUnixUs
	timeUnixNs
	timeLayout
)

var timeKindNames = [...]string{"datetime", "rfc3339", "unix", "unix_ms", "unix_us", "unix_ns"}

// unitNanos is the length of the unit of the integer unix formats.
var unitNanos = [...]int64{timeUnix: 1e9, timeUnixMs: 1e6, timeUnixUs: 1e3, timeUnixNs: 1}

// layoutSample is a time every layout element formats differently from the
// reference time, so a layout with no element formats to itself.
var layoutSample = time.Date(2017, 11, 28, 9, 38, 49, 123456789, time.FixedZone("XST", 3*3600+1800))

// ParseTimeFormat parses the name of a time format (see TimeFormat), or a Go
// time layout. A layout with no reference-time element, one that cannot
// parse what it formats, or one without a year is an error.
func ParseTimeFormat(s string) (TimeFormat, error) {
	if s == "" {
		return TimeFormat{}, nil
	}
	for k, name := range timeKindNames {
		if strings.EqualFold(s, name) {
			return TimeFormat{kind: timeKind(k)}, nil
		}
	}
	if layoutSample.Format(s) == s {
		return TimeFormat{}, fmt.Errorf("time format %q: neither one of %s nor a Go layout such as %q",
			s, strings.Join(timeKindNames[:], ", "), time.DateTime)
	}
	t, err := time.Parse(s, layoutSample.Format(s))
	if err != nil {
		return TimeFormat{}, fmt.Errorf("time format %q: the layout cannot read what it writes: %w", s, err)
	}
	if t.Year() != layoutSample.Year() {
		return TimeFormat{}, fmt.Errorf("time format %q: the layout has no year (2006)", s)
	}
	return TimeFormat{kind: timeLayout, layout: s}, nil
}

// MustParseTimeFormat is ParseTimeFormat for literal formats in package-level
// declarations; it panics on an invalid format.
func MustParseTimeFormat(s string) TimeFormat {
	f, err := ParseTimeFormat(s)
	if err != nil {
		panic(err)
	}
	return f
}

// String returns the format's name, or its layout.
func (f TimeFormat) String() string {
	if f.kind == timeLayout {
		return f.layout
	}
	return timeKindNames[f.kind]
}

// MarshalText implements encoding.TextMarshaler.
func (f TimeFormat) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseTimeFormat.
func (f *TimeFormat) UnmarshalText(b []byte) error {
	nf, err := ParseTimeFormat(string(b))
	if err != nil {
		return err
	}
	*f = nf
	return nil
}

// Numeric reports whether the format reads numbers (the unix formats), and
// so takes JSON numbers as well as strings.
func (f TimeFormat) Numeric() bool { return f.kind >= timeUnix && f.kind <= timeUnixNs }

// Parse reads text as a time, returning unix nanoseconds (UTC).
func (f TimeFormat) Parse(text string) (int64, error) {
	switch f.kind {
	case timeDateTime:
		if sec, ok := parseDateTimeSec(text); ok {
			if sec < MinTimeNanos/1e9 || sec > MaxTimeNanos/1e9 {
				return 0, errTimeRange(text)
			}
			return sec * 1e9, nil
		}
		t, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return 0, fmt.Errorf("%s is not a time (YYYY-MM-DD hh:mm:ss or RFC 3339)", quoteText(text))
		}
		return timeNanos(text, t)
	case timeRFC3339:
		t, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return 0, fmt.Errorf("%s is not an RFC 3339 time", quoteText(text))
		}
		return timeNanos(text, t)
	case timeLayout:
		t, err := time.Parse(f.layout, text)
		if err != nil {
			return 0, fmt.Errorf("%s does not match the time layout %q", quoteText(text), f.layout)
		}
		return timeNanos(text, t)
	}
	return parseUnix(text, f.kind)
}

// timeNanos returns t in unix nanoseconds if it is in range.
func timeNanos(text string, t time.Time) (int64, error) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, errTimeRange(text)
	}
	return t.UnixNano(), nil
}

// Format writes ns (unix nanoseconds) in the format, so that Parse reads it
// back: exactly for datetime (RFC 3339 when there are fractional seconds),
// rfc3339, unix and unix_ns; truncated to the unit (toward the past) for
// unix_ms and unix_us; to the layout's precision for a layout.
func (f TimeFormat) Format(ns int64) string { return string(f.AppendFormat(nil, ns)) }

// AppendFormat appends the Format form of ns to b.
func (f TimeFormat) AppendFormat(b []byte, ns int64) []byte {
	switch f.kind {
	case timeDateTime:
		t := time.Unix(0, ns).UTC()
		if ns%1e9 == 0 {
			return t.AppendFormat(b, time.DateTime)
		}
		return t.AppendFormat(b, time.RFC3339Nano)
	case timeRFC3339:
		return time.Unix(0, ns).UTC().AppendFormat(b, time.RFC3339Nano)
	case timeLayout:
		return time.Unix(0, ns).UTC().AppendFormat(b, f.layout)
	case timeUnix:
		return appendUnixSeconds(b, ns)
	}
	u := unitNanos[f.kind]
	q := ns / u
	if ns%u < 0 {
		q-- // toward the past
	}
	return appendInt(b, q)
}
