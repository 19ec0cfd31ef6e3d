package rules

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// LoadError is an error in a rule set: where (file, line and column of the
// YAML node, when known), which rule and field, and what. For CEL errors Msg
// is cel's issue text verbatim, caret excerpt included.
type LoadError struct {
	File      string // file name, or "" for rules built in Go
	Line, Col int    // 1-based position in the file; 0 when unknown
	Rule      string // rule name, or "" for a set-level error
	Field     string // "when", "payload", "cooldown", ... or ""
	Msg       string
	// ExprLine and ExprCol place a CEL error inside its expression (1-based;
	// 0 when the error is about the field as a whole). Line and Col already
	// include them when the rule came from a file.
	ExprLine, ExprCol int
}

func (e *LoadError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col))
		}
		b.WriteString(": ")
	}
	if e.Rule != "" {
		b.WriteString("rule " + strconv.Quote(e.Rule) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	if e.Line == 0 && e.ExprLine > 0 {
		b.WriteString(strconv.Itoa(e.ExprLine) + ":" + strconv.Itoa(e.ExprCol) + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// joinLoadErrors sorts load errors by position and joins them; a single
// error is returned as is so errors.As finds it directly.
func joinLoadErrors(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int {
		var x, y *LoadError
		if !errors.As(a, &x) || !errors.As(b, &y) {
			return 0
		}
		return cmp.Or(cmp.Compare(x.Line, y.Line), cmp.Compare(x.Col, y.Col))
	})
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
