package stream

import "errors"

var errUnbalancedQuote = errors.New("unbalanced double quote")

// parseInt parses a decimal integer with an optional sign without
// allocating. It rejects empty input, other characters and values outside
// int64.
func parseInt(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	if len(s) > 18 {
		return parseLongInt(s, neg)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseLongInt is parseInt for more than 18 digits, checking overflow.
func parseLongInt(s string, neg bool) (int64, bool) {
	n, ok, overflow := parseDigits(s)
	if !ok || overflow {
		return 0, false
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return int64(-n), true // -(1<<63) wraps to itself: math.MinInt64
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// canonicalInt reports whether s, which parseInt accepted, is the decimal
// form strconv.FormatInt gives: no '+', no leading zero, no "-0".
func canonicalInt(s string) bool {
	if s[0] == '-' {
		return len(s) > 1 && s[1] >= '1' && s[1] <= '9'
	}
	return s == "0" || (s[0] >= '1' && s[0] <= '9')
}

func digits2(s string, i int) (int, bool) {
	a, b := s[i]-'0', s[i+1]-'0'
	if a > 9 || b > 9 {
		return 0, false
	}
	return int(a)*10 + int(b), true
}

// parseDateTimeSec parses "YYYY-MM-DD hh:mm:ss" (or with a 'T', and an
// optional trailing 'Z') as UTC, returning unix seconds. It checks every
// range, including the days of the month, but not the range of event times.
func parseDateTimeSec(s string) (int64, bool) {
	if len(s) == 20 && s[19] == 'Z' {
		s = s[:19]
	}
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	y1, ok1 := digits2(s, 0)
	y2, ok2 := digits2(s, 2)
	mo, ok3 := digits2(s, 5)
	d, ok4 := digits2(s, 8)
	h, ok5 := digits2(s, 11)
	mi, ok6 := digits2(s, 14)
	se, ok7 := digits2(s, 17)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return 0, false
	}
	y := y1*100 + y2
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || se > 59 {
		return 0, false
	}
	return daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+se), true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns days since 1970-01-01 (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// splitCSV splits one CSV line into fields, appending to dst. Quoted fields
// may contain commas and doubled quotes; a field with doubled quotes is
// unescaped into a new string (the only allocation). It never lets a quoted
// field run past the end of the line: an unbalanced quote is an error.
func splitCSV(line string, dst []string) ([]string, error) {
	for i := 0; i >= 0; {
		var f string
		var err error
		f, i, err = csvCell(line, i)
		if err != nil {
			return dst, err
		}
		dst = append(dst, f)
	}
	return dst, nil
}

var errTextAfterQuote = errors.New("text after a closing quote")

// csvCell returns the field of line starting at byte i, and where the next
// field starts: -1 after the last one (a line ending in a comma ends with an
// empty field).
func csvCell(line string, i int) (string, int, error) {
	if i < len(line) && line[i] == '"' {
		j := i + 1
		escaped := false
		for {
			k := indexByte(line, j, '"')
			if k < 0 {
				return "", -1, errUnbalancedQuote
			}
			if k+1 < len(line) && line[k+1] == '"' {
				escaped = true
				j = k + 2
				continue
			}
			f := line[i+1 : k]
			if escaped {
				f = unescapeQuotes(f)
			}
			switch {
			case k+1 == len(line):
				return f, -1, nil
			case line[k+1] != ',':
				return "", -1, errTextAfterQuote
			}
			return f, k + 2, nil
		}
	}
	for k := i; k < len(line); k++ {
		switch line[k] {
		case ',':
			return line[i:k], k + 1, nil
		case '"':
			return "", -1, errUnbalancedQuote
		}
	}
	return line[i:], -1, nil
}

func indexByte(s string, from int, c byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func hasQuote(s string) bool { return indexByte(s, 0, '"') >= 0 }

func unescapeQuotes(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i])
		if s[i] == '"' && i+1 < len(s) && s[i+1] == '"' {
			i++
		}
	}
	return string(b)
}

// checkText reports why a line is not text: invalid UTF-8 or control bytes
// (binary junk). Tabs are allowed.
func checkText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			ascii = false
			continue
		}
		if c < 0x20 && c != '\t' || c == 0x7f {
			return "binary data (control byte) in record"
		}
	}
	if !ascii && !validUTF8(s) {
		return "invalid UTF-8"
	}
	return ""
}
