package model

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// clickColumns are clicks.csv's required columns.
var clickColumns = [4]string{"EventID", "CustID", "AdClicked", "Localtime"}

// ReadClicks reads clicks.csv (header EventID,CustID,AdClicked,Localtime,
// columns in any order) and returns the customers who clicked
// ADV_REDUCED_1DAY. Localtime is YYYY-MM-DD hh:mm:ss or RFC 3339. A bad
// line is an error naming the input and its line.
func ReadClicks(r io.Reader, name string) (map[int64]bool, error) {
	clicked := make(map[int64]bool)
	var col [4]int
	err := eachLine(r, name, func(line string, n int) error {
		if n == 1 {
			return clickHeader(strings.TrimPrefix(line, "\ufeff"), &col)
		}
		if strings.TrimSpace(line) == "" {
			return nil
		}
		f, err := splitCSV(line)
		if err != nil {
			return err
		}
		if len(f) != len(clickColumns) {
			return fmt.Errorf("%d columns, want 4 (%s)", len(f), strings.Join(clickColumns[:], ","))
		}
		if _, err := strconv.ParseInt(f[col[0]], 10, 64); err != nil {
			return fmt.Errorf("EventID %q is not an integer", f[col[0]])
		}
		id, err := strconv.ParseInt(f[col[1]], 10, 64)
		if err != nil {
			return fmt.Errorf("CustID %q is not an integer", f[col[1]])
		}
		if f[col[2]] == "" {
			return errors.New("AdClicked is empty")
		}
		if _, err := parseLocaltime(f[col[3]]); err != nil {
			return err
		}
		if f[col[2]] == gen.Ads[0] {
			clicked[id] = true
		}
		return nil
	})
	return clicked, err
}

func clickHeader(line string, col *[4]int) error {
	f, err := splitCSV(line)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	for i, want := range clickColumns {
		col[i] = -1
		for j, h := range f {
			if strings.EqualFold(strings.TrimSpace(h), want) {
				col[i] = j
			}
		}
		if col[i] < 0 {
			return fmt.Errorf("header %q lacks column %s (want %s)", line, want, strings.Join(clickColumns[:], ","))
		}
	}
	if len(f) != len(clickColumns) {
		return fmt.Errorf("header %q: %d columns, want 4", line, len(f))
	}
	return nil
}

func parseLocaltime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateTime, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("Localtime %q is not YYYY-MM-DD hh:mm:ss or RFC 3339", s)
}

// splitCSV splits one CSV line; a field may be double-quoted, with "" for a
// quote inside.
func splitCSV(line string) ([]string, error) {
	var out []string
	for i := 0; ; {
		if i < len(line) && line[i] == '"' {
			var sb strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(line[j:], '"')
				if k < 0 {
					return nil, fmt.Errorf("column %d: unterminated quote", len(out)+1)
				}
				sb.WriteString(line[j : j+k])
				j += k + 1
				if j < len(line) && line[j] == '"' {
					sb.WriteByte('"')
					j++
					continue
				}
				break
			}
			out = append(out, sb.String())
			if j == len(line) {
				return out, nil
			}
			if line[j] != ',' {
				return nil, fmt.Errorf("column %d: text after closing quote", len(out))
			}
			i = j + 1
			continue
		}
		k := strings.IndexByte(line[i:], ',')
		if k < 0 {
			f := line[i:]
			if strings.IndexByte(f, '"') >= 0 {
				return nil, fmt.Errorf("column %d: stray quote", len(out)+1)
			}
			return append(out, f), nil
		}
		f := line[i : i+k]
		if strings.IndexByte(f, '"') >= 0 {
			return nil, fmt.Errorf("column %d: stray quote", len(out)+1)
		}
		out = append(out, f)
		i += k + 1
	}
}
