package model

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/gen"
)

// maxLine bounds an input line.
const maxLine = 1 << 20

// eachLine calls fn with every line of r (without its line end) and its
// number from 1; errors name the input and the line.
func eachLine(r io.Reader, name string, fn func(line string, n int) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(strings.TrimSuffix(sc.Text(), "\r"), n); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", name, n+1, err)
	}
	return nil
}

// ReadPlays calls add with each play of a CSV in the demo's positional
// schema (no header; see stream.PlayDecoder), for example Builder.AddPlay.
// Blank lines are skipped; a bad line is an error naming the input and its
// line. It returns the plays read.
func ReadPlays(r io.Reader, name string, add func(gen.Play)) (int, error) {
	var dec stream.PlayDecoder
	ev := stream.Event{Fields: make([]stream.Value, stream.PlaySchema.Len())}
	lines := 0
	err := eachLine(r, name, func(line string, n int) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		if err := dec.Decode(line, &ev); err != nil {
			return err
		}
		lines++
		f := ev.Fields
		add(gen.Play{EventID: f[stream.PlayEventID].Int(), CustomerID: f[stream.PlayCustomerID].Int(), TrackID: f[stream.PlayTrackID].Int(),
			Time: f[stream.PlayDateTime].Time(), Mobile: f[stream.PlayIsMobile].Bool(), Zip: f[stream.PlayZip].Str()})
		return nil
	})
	return lines, err
}

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

// ReadLibSVM reads the demo's features file: one customer per line, in
// customer-id order from 0 (the row index is the CustID), as
// "label 1:morning 2:afternoon 3:evening 4:night 5:mobile 6:unique"; label 1
// (or +1) clicked, 0 (or -1) did not; absent indices are 0. Blank lines are
// skipped and do not take an id.
func ReadLibSVM(r io.Reader, name string) ([]Row, error) {
	var rows []Row
	err := eachLine(r, name, func(line string, n int) error {
		tok := strings.Fields(line)
		if len(tok) == 0 {
			return nil
		}
		row := Row{CustID: int64(len(rows))}
		switch tok[0] {
		case "1", "+1", "1.0":
			row.Label = true
		case "0", "-1", "0.0":
		default:
			return fmt.Errorf("label %q is not 0 or 1", tok[0])
		}
		var set [NumFeatures]bool
		for _, t := range tok[1:] {
			is, vs, ok := strings.Cut(t, ":")
			if !ok {
				return fmt.Errorf("%q is not index:value", t)
			}
			i, err := strconv.Atoi(is)
			if err != nil || i < 1 || i > NumFeatures {
				return fmt.Errorf("index %q is not 1..%d", is, NumFeatures)
			}
			if set[i-1] {
				return fmt.Errorf("index %d given twice", i)
			}
			set[i-1] = true
			v, err := strconv.ParseFloat(vs, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("value %q of index %d is not a finite number", vs, i)
			}
			row.X[i-1] = v
		}
		rows = append(rows, row)
		return nil
	})
	return rows, err
}
