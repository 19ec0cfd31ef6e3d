package enrich

import (
	"errors"
	"strings"
)

// ErrUnbalancedQuote is returned by SplitRow for a line with a quote that is
// never closed on that line.
var ErrUnbalancedQuote = errors.New("unbalanced double quote")

// errAfterQuote is returned for text between a closing quote and the next comma.
var errAfterQuote = errors.New("text after a closing quote")

// SplitRow splits one CSV line (without its line end) into fields, appending
// them to dst. Quoted fields may hold commas and doubled quotes. A quoted
// field never runs past the end of the line: an unbalanced quote is
// ErrUnbalancedQuote, so one broken line can never swallow the next ones.
// Fields share the memory of line unless they held doubled quotes.
func SplitRow(line string, dst []string) ([]string, error) {
	i := 0
	for {
		if i < len(line) && line[i] == '"' {
			j, escaped := i+1, false
			for {
				k := strings.IndexByte(line[j:], '"')
				if k < 0 {
					return dst, ErrUnbalancedQuote
				}
				k += j
				if k+1 < len(line) && line[k+1] == '"' {
					escaped, j = true, k+2
					continue
				}
				f := line[i+1 : k]
				if escaped {
					f = strings.ReplaceAll(f, `""`, `"`)
				}
				dst = append(dst, f)
				i = k + 1
				break
			}
			if i == len(line) {
				return dst, nil
			}
			if line[i] != ',' {
				return dst, errAfterQuote
			}
			i++
			if i == len(line) {
				return append(dst, ""), nil
			}
			continue
		}
		k := strings.IndexByte(line[i:], ',')
		if k < 0 {
			f := line[i:]
			if strings.IndexByte(f, '"') >= 0 {
				return dst, ErrUnbalancedQuote
			}
			return append(dst, f), nil
		}
		f := line[i : i+k]
		if strings.IndexByte(f, '"') >= 0 {
			return dst, ErrUnbalancedQuote
		}
		dst = append(dst, f)
		i += k + 1
		if i == len(line) {
			return append(dst, ""), nil
		}
	}
}

// RecoverRow is the fallback for a line SplitRow rejects: it splits on every
// comma, ignoring quotes, and removes the stray quote characters from each
// field. It succeeds only when that gives exactly want fields, the one case
// where the columns are unambiguous (as in a line like
// `326,Helplessly Hoping,"Crosby,195`).
func RecoverRow(line string, want int, dst []string) ([]string, bool) {
	if strings.Count(line, ",") != want-1 {
		return dst, false
	}
	for f := range strings.SplitSeq(line, ",") {
		if strings.IndexByte(f, '"') >= 0 {
			f = strings.ReplaceAll(f, `"`, "")
		}
		dst = append(dst, f)
	}
	return dst, true
}

// AppendRow appends fields as one CSV line (without line end), quoting the
// fields that need it. SplitRow(AppendRow(nil, f)) gives f back.
func AppendRow(b []byte, fields []string) []byte {
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		if !strings.ContainsAny(f, "\",\r\n") {
			b = append(b, f...)
			continue
		}
		b = append(b, '"')
		b = append(b, strings.ReplaceAll(f, `"`, `""`)...)
		b = append(b, '"')
	}
	return b
}
