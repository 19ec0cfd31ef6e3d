package stream

import (
	"fmt"
	"strconv"
)

var unixNames = [...]string{
	timeUnix:   "a unix time (seconds, with an optional fraction)",
	timeUnixMs: "a unix time in milliseconds (an integer)",
	timeUnixUs: "a unix time in microseconds (an integer)",
	timeUnixNs: "a unix time in nanoseconds (an integer)",
}

// parseUnix reads one of the unix formats: an optional sign, decimal
// digits and, for seconds only, a fraction (digits past nanoseconds are
// dropped).
func parseUnix(text string, k timeKind) (int64, error) {
	s := text
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	whole, frac, dot := s, "", false
	if k == timeUnix {
		for i := 0; i < len(s); i++ {
			if s[i] == '.' {
				whole, frac, dot = s[:i], s[i+1:], true
				break
			}
		}
	}
	n, digits, overflow := parseDigits(whole)
	if !digits || (dot && !isDigits(frac)) {
		return 0, fmt.Errorf("%s is not %s", quoteText(text), unixNames[k])
	}
	unit := uint64(unitNanos[k])
	if overflow || n > uint64(MaxTimeNanos)/unit+1 {
		return 0, errTimeRange(text)
	}
	mag := n * unit
	var fn uint64
	for i, scale := 0, uint64(1e8); i < len(frac) && scale > 0; i, scale = i+1, scale/10 {
		fn += uint64(frac[i]-'0') * scale
	}
	mag += fn
	if neg {
		if mag > uint64(-MinTimeNanos) {
			return 0, errTimeRange(text)
		}
		return -int64(mag), nil
	}
	if mag > uint64(MaxTimeNanos) {
		return 0, errTimeRange(text)
	}
	return int64(mag), nil
}

// parseDigits reads a non-empty string of decimal digits. digits is false
// for anything else; overflow is true when the value exceeds uint64.
func parseDigits(s string) (n uint64, digits, overflow bool) {
	if s == "" {
		return 0, false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false, false
		}
		if n > (1<<64-1-9)/10 {
			overflow = true
		}
		n = n*10 + uint64(c)
	}
	return n, true, overflow
}

func isDigits(s string) bool {
	_, ok, _ := parseDigits(s)
	return ok
}

// appendUnixSeconds appends ns as seconds with the fraction it needs.
func appendUnixSeconds(b []byte, ns int64) []byte {
	mag := uint64(ns)
	if ns < 0 {
		b = append(b, '-')
		mag = uint64(-ns) // also right for math.MinInt64
	}
	b = strconv.AppendUint(b, mag/1e9, 10)
	frac := mag % 1e9
	if frac == 0 {
		return b
	}
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 9
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
