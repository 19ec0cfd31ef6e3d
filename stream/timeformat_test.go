package stream

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ns(y int, mo time.Month, d, h, mi, s, n int) int64 {
	return time.Date(y, mo, d, h, mi, s, n, time.UTC).UnixNano()
}

func TestTimeFormatParse(t *testing.T) {
	cases := []struct {
		format, text string
		want         int64
		err          string
	}{
		{"", "2014-10-23 03:26:20", ns(2014, 10, 23, 3, 26, 20, 0), ""},
		{"datetime", "2014-10-23T03:26:20Z", ns(2014, 10, 23, 3, 26, 20, 0), ""},
		{"datetime", "2014-10-23T05:26:20.5+02:00", ns(2014, 10, 23, 3, 26, 20, 5e8), ""},
		{"datetime", "2014-02-30 00:00:00", 0, `"2014-02-30 00:00:00" is not a time (YYYY-MM-DD hh:mm:ss or RFC 3339)`},
		{"datetime", "9999-12-31 00:00:00", 0, `"9999-12-31 00:00:00" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"datetime", "0000-01-01 00:00:00", 0, `"0000-01-01 00:00:00" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"datetime", "1677-12-31T23:59:59Z", 0, `"1677-12-31T23:59:59Z" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"datetime", "1678-01-01 00:00:00", MinTimeNanos, ""},
		{"datetime", "2262-04-11 23:47:16", ns(2262, 4, 11, 23, 47, 16, 0), ""},
		{"datetime", "2262-04-11 23:47:17", 0, `"2262-04-11 23:47:17" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"datetime", "2262-04-11T23:47:16.854775807Z", MaxTimeNanos, ""},
		{"datetime", "2262-04-11T23:47:16.854775808Z", 0, `"2262-04-11T23:47:16.854775808Z" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"rfc3339", "2014-10-23T03:26:20.123Z", ns(2014, 10, 23, 3, 26, 20, 123e6), ""},
		{"RFC3339", "2014-10-23 03:26:20", 0, `"2014-10-23 03:26:20" is not an RFC 3339 time`},
		{"rfc3339", "9999-12-31T00:00:00Z", 0, `"9999-12-31T00:00:00Z" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"unix", "1412157600", ns(2014, 10, 1, 10, 0, 0, 0), ""},
		{"unix", "1412157600.25", ns(2014, 10, 1, 10, 0, 0, 25e7), ""},
		{"unix", "-1.5", -15e8, ""},
		{"unix", "0.0000000019", 1, ""},
		{"unix", "1.", 0, `"1." is not a unix time (seconds, with an optional fraction)`},
		{"unix", ".5", 0, `".5" is not a unix time (seconds, with an optional fraction)`},
		{"unix", "1e9", 0, `"1e9" is not a unix time (seconds, with an optional fraction)`},
		{"unix", "", 0, `"" is not a unix time (seconds, with an optional fraction)`},
		{"unix", "253402214400", 0, `"253402214400" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"unix", "-9214560001", 0, `"-9214560001" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"unix", "99999999999999999999999", 0, `"99999999999999999999999" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"unix_ms", "1412157600123", ns(2014, 10, 1, 10, 0, 0, 123e6), ""},
		{"unix_ms", "1412157600.5", 0, `"1412157600.5" is not a unix time in milliseconds (an integer)`},
		{"unix_ms", "253402214400000", 0, `"253402214400000" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"unix_us", "1412157600123456", ns(2014, 10, 1, 10, 0, 0, 123456e3), ""},
		{"unix_ns", "9223372036854775807", MaxTimeNanos, ""},
		{"unix_ns", "9223372036854775808", 0, `"9223372036854775808" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"unix_ns", "-9223372036854775808", 0, `"-9223372036854775808" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"unix_ns", "x1", 0, `"x1" is not a unix time in nanoseconds (an integer)`},
		{"02/01/2006 15:04", "23/10/2014 03:26", ns(2014, 10, 23, 3, 26, 0, 0), ""},
		{"02/01/2006 15:04", "23/10/9999 03:26", 0, `"23/10/9999 03:26" is outside the representable time range (1678-01-01 to 2262-04-11)`},
		{"02/01/2006 15:04", "2014-10-23", 0, `"2014-10-23" does not match the time layout "02/01/2006 15:04"`},
		{"2006-01-02T15:04:05-0700", "2014-10-23T05:26:20+0200", ns(2014, 10, 23, 3, 26, 20, 0), ""},
	}
	for _, c := range cases {
		f, err := ParseTimeFormat(c.format)
		require.NoError(t, err, c.format)
		got, err := f.Parse(c.text)
		if c.err != "" {
			require.EqualError(t, err, c.err, "%s %s", c.format, c.text)
			continue
		}
		require.NoError(t, err, "%s %s", c.format, c.text)
		require.Equal(t, c.want, got, "%s %s", c.format, c.text)
	}
	_, err := TimeFormat{}.Parse("9999-12-31 00:00:00")
	require.True(t, errors.Is(err, ErrTimeOutOfRange))
}

func TestParseTimeFormat(t *testing.T) {
	for _, name := range []string{"", "datetime", "rfc3339", "unix", "unix_ms", "unix_us", "unix_ns", "UNIX_MS"} {
		_, err := ParseTimeFormat(name)
		require.NoError(t, err, name)
	}
	f, err := ParseTimeFormat("Jan _2 2006 3:04PM")
	require.NoError(t, err)
	require.Equal(t, "Jan _2 2006 3:04PM", f.String())
	require.False(t, f.Numeric())
	require.True(t, MustParseTimeFormat("unix").Numeric())
	require.Equal(t, "datetime", TimeFormat{}.String())

	bad := map[string]string{
		"unixms":   `time format "unixms": neither one of datetime, rfc3339, unix, unix_ms, unix_us, unix_ns nor a Go layout such as "2006-01-02 15:04:05"`,
		"yyyy-mm":  `time format "yyyy-mm": neither one of datetime, rfc3339, unix, unix_ms, unix_us, unix_ns nor a Go layout such as "2006-01-02 15:04:05"`,
		"15:04:05": `time format "15:04:05": the layout has no year (2006)`,
		"01/02":    `time format "01/02": the layout has no year (2006)`,
	}
	for s, want := range bad {
		_, err := ParseTimeFormat(s)
		require.EqualError(t, err, want, s)
	}
	var u TimeFormat
	require.NoError(t, u.UnmarshalText([]byte("unix_us")))
	text, err := u.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "unix_us", string(text))
	require.Error(t, u.UnmarshalText([]byte("nonsense")))
}

func TestTimeFormatFormat(t *testing.T) {
	at := ns(2014, 10, 1, 10, 0, 0, 123456789)
	want := map[string]string{
		"datetime":         "2014-10-01T10:00:00.123456789Z",
		"rfc3339":          "2014-10-01T10:00:00.123456789Z",
		"unix":             "1412157600.123456789",
		"unix_ms":          "1412157600123",
		"unix_us":          "1412157600123456",
		"unix_ns":          "1412157600123456789",
		"2006-01-02 15h04": "2014-10-01 10h00",
	}
	for name, w := range want {
		require.Equal(t, w, MustParseTimeFormat(name).Format(at), name)
	}
	require.Equal(t, "2014-10-01 10:00:00", TimeFormat{}.Format(ns(2014, 10, 1, 10, 0, 0, 0)))
	require.Equal(t, "-1.5", MustParseTimeFormat("unix").Format(-15e8))
	require.Equal(t, "-2", MustParseTimeFormat("unix_ms").Format(-1500001), "toward the past")
}

func TestParseValueTimeRange(t *testing.T) {
	_, err := ParseValue(KindTime, "9999-12-31 00:00:00")
	require.EqualError(t, err, `"9999-12-31 00:00:00" is outside the representable time range (1678-01-01 to 2262-04-11)`)
	v, err := ParseValue(KindTime, "2014-10-01T10:00:00+02:00")
	require.NoError(t, err)
	require.Equal(t, ns(2014, 10, 1, 8, 0, 0, 0), v.Nanos())
}

func TestParseInt(t *testing.T) {
	good := map[string]int64{"0": 0, "-0": 0, "+7": 7, "007": 7, "-42": -42,
		"9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63, "0000000000000000000000012": 12}
	for s, want := range good {
		n, ok := parseInt(s)
		require.True(t, ok, s)
		require.Equal(t, want, n, s)
	}
	for _, s := range []string{"", "-", "+", "1.0", "1e3", " 1", "9223372036854775808", "-9223372036854775809", "99999999999999999999999"} {
		_, ok := parseInt(s)
		require.False(t, ok, s)
	}
}

// formatsUnderTest are the formats FuzzTimeFormat round-trips.
var formatsUnderTest = []string{"datetime", "rfc3339", "unix", "unix_ms", "unix_us", "unix_ns",
	"2006-01-02 15:04:05.000000000", "02/01/2006 15:04:05 -0700", "Jan _2 2006 15:04:05"}

// FuzzTimeFormat covers the whole range of times, in every format: any
// text never panics, and what parses lies in MinTimeNanos..MaxTimeNanos;
// every int64 instant formats to text that parses back to it (to the
// format's precision) when it is in range, and is refused with
// ErrTimeOutOfRange when it is before 1678; an instant beyond what int64
// nanoseconds hold (sec, nsec: any year of 0..9999, any int64 seconds for
// the unix formats), written independently of Format, parses back equal
// when in range and is refused with ErrTimeOutOfRange otherwise, never
// read as a wrapped value.
func FuzzTimeFormat(f *testing.F) {
	f.Add("2014-10-23 03:26:20", int64(0), "", int64(0), uint32(0))
	f.Add("1412157600.25", int64(-1), "2006", int64(253402300799), uint32(999999999))        // 9999-12-31T23:59:59.999999999
	f.Add("9999-12-31 00:00:00", int64(1<<63-1), "02/01/2006", int64(7258118400), uint32(0)) // 2200-01-01
	f.Add("-9223372036854775808", int64(-1<<63), "unix_ns", int64(-11676096000), uint32(0))  // 1600-01-01
	f.Add("x", MinTimeNanos-1, "unix", int64(9223372036), uint32(854775808))                 // MaxTimeNanos+1
	f.Add("", MinTimeNanos, "unix_ms", int64(-9214560001), uint32(999999999))                // MinTimeNanos-1
	f.Add("9300000000", int64(1<<62), "unix", int64(9300000000), uint32(0))                  // unix seconds whose nanoseconds overflow
	f.Add("", int64(-1<<62), "", int64(-62135596800), uint32(1))                             // year 1
	f.Add("", int64(0), "", int64(-1<<63), uint32(0))
	f.Add("", int64(0), "", int64(1<<63-1), uint32(0))
	f.Fuzz(func(t *testing.T, text string, at int64, layout string, sec int64, nsec uint32) {
		if tf, err := ParseTimeFormat(layout); err == nil {
			checkParsed(t, tf, text)
			_ = tf.Format(at) // must not panic
		}
		for _, name := range formatsUnderTest {
			tf := MustParseTimeFormat(name)
			checkParsed(t, tf, text)

			// An int64 instant.
			s := tf.Format(at)
			got, err := tf.Parse(s)
			if at < MinTimeNanos {
				if !errors.Is(err, ErrTimeOutOfRange) {
					t.Fatalf("%s: %d (before 1678) formats to %q, read as %d, %v; want ErrTimeOutOfRange", name, at, s, got, err)
				}
			} else {
				if err != nil {
					t.Fatalf("%s: %d formats to %q, which does not parse: %v", name, at, s, err)
				}
				if again := tf.Format(got); again != s {
					t.Fatalf("%s: %d -> %q -> %d -> %q", name, at, s, got, again)
				}
				if want := truncate(at, name); got != want {
					t.Fatalf("%s: %d -> %q -> %d, want %d", name, at, s, got, want)
				}
			}

			// An instant of any year.
			frac := int64(nsec % 1e9)
			frac -= frac % unitOf(name)
			inst := time.Unix(sec, frac).UTC()
			s, ok := writeTime(name, sec, frac, inst)
			if !ok {
				continue
			}
			got, err = tf.Parse(s)
			if inst.Before(minTime) || inst.After(maxTime) {
				if !errors.Is(err, ErrTimeOutOfRange) {
					t.Fatalf("%s: %v written %q, read as %d, %v; want ErrTimeOutOfRange", name, inst, s, got, err)
				}
				continue
			}
			if err != nil || got != inst.UnixNano() {
				t.Fatalf("%s: %v written %q, read as %d, %v; want %d", name, inst, s, got, err, inst.UnixNano())
			}
		}
	})
}

// checkParsed checks that what text parses to in tf is in range, and that
// an out-of-range error is ErrTimeOutOfRange.
func checkParsed(t *testing.T, tf TimeFormat, text string) {
	t.Helper()
	got, err := tf.Parse(text)
	if err == nil && (got < MinTimeNanos || got > MaxTimeNanos) {
		t.Fatalf("%q in %s: %d outside the range", text, tf, got)
	}
	if err != nil && strings.Contains(err.Error(), "outside the representable") && !errors.Is(err, ErrTimeOutOfRange) {
		t.Fatalf("%q in %s: %v does not match ErrTimeOutOfRange", text, tf, err)
	}
}

// writeTime writes the instant sec, frac (nanoseconds, in [0, 1e9)) in
// format name apart from TimeFormat.Format: the unix formats with big
// integers (any int64 seconds), the others with time.Format (years 0 to
// 9999 only; false otherwise).
func writeTime(name string, sec, frac int64, inst time.Time) (string, bool) {
	b := new(big.Int).SetInt64(sec)
	switch name {
	case "unix":
		if frac == 0 {
			return b.String(), true
		}
		if sec < 0 { // -1.25 is -2 s + 0.75 s
			b.Add(b, big.NewInt(1))
			frac = 1e9 - frac
			if b.Sign() == 0 {
				return "-0." + strings.TrimRight(fmt.Sprintf("%09d", frac), "0"), true
			}
		}
		return b.String() + "." + strings.TrimRight(fmt.Sprintf("%09d", frac), "0"), true
	case "unix_ms", "unix_us", "unix_ns":
		per := map[string]int64{"unix_ms": 1e3, "unix_us": 1e6, "unix_ns": 1e9}[name]
		b.Mul(b, big.NewInt(per))
		b.Add(b, big.NewInt(frac/(1e9/per)))
		return b.String(), true
	}
	if inst.Year() < 0 || inst.Year() > 9999 {
		return "", false
	}
	switch name {
	case "datetime":
		if frac == 0 {
			return inst.Format(time.DateTime), true
		}
		return inst.Format(time.RFC3339Nano), true
	case "rfc3339":
		return inst.Format(time.RFC3339Nano), true
	}
	return inst.Format(name), true
}

// truncate is at to the precision of a format, toward the past.
func truncate(at int64, name string) int64 {
	unit := unitOf(name)
	q := at / unit
	if at%unit < 0 {
		q--
	}
	return q * unit
}

// unitOf is the precision of a format under test, in nanoseconds.
func unitOf(name string) int64 {
	switch name {
	case "unix_ms":
		return 1e6
	case "unix_us":
		return 1e3
	case "Jan _2 2006 15:04:05", "02/01/2006 15:04:05 -0700":
		return 1e9
	}
	return 1
}
