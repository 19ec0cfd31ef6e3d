package job

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/rules"
)

// Error is one problem in a job file: where (file, line and column of the
// YAML node), at which path (input.fields.time, windows[1].count...), and
// what.
type Error struct {
	File      string
	Line, Col int // 1-based; 0 when unknown
	Path      string
	Msg       string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are the problems of a job file, sorted by position. Load returns
// every problem it finds, not only the first.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// errs collects the errors of one load.
type errs struct {
	file string
	src  []byte
	list Errors
}

func (c *errs) add(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: c.file, Path: path, Msg: sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	c.list = append(c.list, e)
}

// addAt records an error at a position inside a CEL expression held by n.
func (c *errs) addCEL(n *yaml.Node, path string, err error) {
	var le *rules.LoadError
	all := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	}
	for _, one := range all {
		if !errors.As(one, &le) {
			c.add(n, path, "%v", one)
			continue
		}
		line, col := rules.ExprPos(n, c.src, le.ExprLine, le.ExprCol)
		c.list = append(c.list, &Error{File: c.file, Line: line, Col: col, Path: path, Msg: le.Msg})
	}
}

// rulesErr adds the errors of the rules loader, already placed in the file.
func (c *errs) rulesErr(err error) {
	all := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	}
	for _, one := range all {
		var le *rules.LoadError
		if !errors.As(one, &le) {
			c.list = append(c.list, &Error{File: c.file, Path: "rules", Msg: one.Error()})
			continue
		}
		msg := le.Msg
		switch {
		case le.Field == "target" && strings.HasPrefix(msg, `unknown target "`+DeadLetterTarget+`"`):
			msg = `the deadletter target receives malformed input, not emissions: rules cannot emit to it`
		case le.Field == "target" && strings.HasPrefix(msg, `unknown target "`+LateTarget+`"`):
			msg = `the late target receives late events, not emissions: rules cannot emit to it`
		}
		path := "rules"
		if le.Rule != "" {
			path += "[" + le.Rule + "]"
		}
		if le.Field != "" {
			path += "." + le.Field
		}
		c.list = append(c.list, &Error{File: c.file, Line: le.Line, Col: le.Col, Path: path, Msg: msg})
	}
}

func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	slices.SortStableFunc(c.list, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	c.list = slices.CompactFunc(c.list, func(a, b *Error) bool { return *a == *b })
	return c.list
}
