package enrich

import (
	"fmt"
	"strconv"
	"strings"
)

// table describes one reference file: the CSV columns it needs, the hash
// fields it writes (in the same order) and how to check and convert a row.
type table struct {
	name    string   // "customer", "track": the key is <prefix><name>:<id>
	columns []string // CSV header names, case-insensitive
	fields  []any    // hash field names (strings), one per column, boxed once
	// convert checks the row and rewrites values in place where the hash
	// form differs from the CSV form; vals[0] is the id.
	convert func(vals []string) error
}

var (
	customerColumns = []string{"CustID", "Name", "Gender", "Address", "zip", "SignDate", "Status", "Level", "Campaign", "LinkedWithApps"}
	trackColumns    = []string{"TrackId", "Title", "Artist", "Length"}
)

var customerTable = &table{
	name:    "customer",
	columns: customerColumns,
	fields:  []any{"id", "name", "gender", "address", "zip", "sign_date", "status", "level", "campaign", "linked_with_apps"},
	convert: func(v []string) error {
		for _, i := range [...]int{0, 2, 6, 7, 8, 9} {
			if !isUint(v[i]) {
				return fmt.Errorf("%s %s is not a non-negative integer", customerColumns[i], strconv.Quote(v[i]))
			}
		}
		d, err := isoDate(v[5])
		if err != nil {
			return err
		}
		v[5] = d
		return nil
	},
}

var trackTable = &table{
	name:    "track",
	columns: trackColumns,
	fields:  []any{"id", "title", "artist", "length"},
	convert: func(v []string) error {
		for _, i := range [...]int{0, 3} {
			if !isUint(v[i]) {
				return fmt.Errorf("%s %s is not a non-negative integer", trackColumns[i], strconv.Quote(v[i]))
			}
		}
		return nil
	},
}

func isUint(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isoDate turns the demo's MM/DD/YYYY (or an ISO YYYY-MM-DD) into
// YYYY-MM-DD, checking the day exists.
func isoDate(s string) (string, error) {
	var y, m, d int
	switch {
	case len(s) == 10 && s[2] == '/' && s[5] == '/':
		m, d, y = atoi(s[0:2]), atoi(s[3:5]), atoi(s[6:10])
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		y, m, d = atoi(s[0:4]), atoi(s[5:7]), atoi(s[8:10])
	default:
		return "", fmt.Errorf("SignDate %s is not MM/DD/YYYY", strconv.Quote(s))
	}
	if y < 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return "", fmt.Errorf("SignDate %s is not a valid date", strconv.Quote(s))
	}
	var b strings.Builder
	b.Grow(10)
	b.WriteString(pad(y, 4))
	b.WriteByte('-')
	b.WriteString(pad(m, 2))
	b.WriteByte('-')
	b.WriteString(pad(d, 2))
	return b.String(), nil
}

// atoi parses all-digit s, or returns -1.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return -1
		}
		n = n*10 + int(c)
	}
	return n
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
