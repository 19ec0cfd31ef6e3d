package rules

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ExprPos returns the file position of line:col (1-based) inside the CEL
// expression held by the scalar node n of the YAML document src, so that a
// CEL error points at its place in the file, not at the start of the field.
// line 0 gives the node's own position. Quoted, literal (|) and folded (>)
// scalars are handled; an escape sequence in a double-quoted string may put
// the column a few characters off.
func ExprPos(n *yaml.Node, src []byte, line, col int) (int, int) {
	return exprPos(n, src, line, col)
}

func exprPos(n *yaml.Node, src []byte, line, col int) (int, int) {
	if n == nil {
		return 0, 0
	}
	if line <= 0 || n.Kind != yaml.ScalarNode || len(src) == 0 {
		return n.Line, n.Column
	}
	lines := bytes.Split(src, []byte("\n"))
	text := func(l int) string { // 1-based source line
		if l < 1 || l > len(lines) {
			return ""
		}
		return strings.TrimRight(string(lines[l-1]), "\r")
	}
	indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		// The content starts on the line after the indicator; each CEL line
		// is one source line, after the block's indentation.
		first := n.Line + 1
		for first <= len(lines) && strings.TrimSpace(text(first)) == "" {
			first++
		}
		return first + line - 1, indent(text(first)) + col
	case n.Style&yaml.FoldedStyle != 0:
		first := n.Line + 1
		for first <= len(lines) && strings.TrimSpace(text(first)) == "" {
			first++
		}
		return walkFolded(text, first, indent(text(first)), line, col)
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		if line == 1 {
			return walkFolded(text, n.Line, n.Column, 1, col)
		}
		return walkFolded(text, n.Line, n.Column, line, col)
	}
	return walkFolded(text, n.Line, n.Column-1, line, col)
}

// walkFolded maps a position in a scalar whose source lines were folded
// into one (plain, quoted and folded scalars: line breaks become spaces)
// back to the source. The scalar's text starts at column start+1 of source
// line first; later lines start after their indentation.
func walkFolded(text func(int) string, first, start, line, col int) (int, int) {
	if line > 1 { // a literal newline survived folding: give the line itself
		return first + line - 1, 1
	}
	l, off := first, start
	for rest := col; ; l++ {
		s := text(l)
		if l > first {
			off = len(s) - len(strings.TrimLeft(s, " "))
		}
		n := len(strings.TrimRight(s, " ")) - off
		if rest <= n+1 || text(l+1) == "" {
			return l, off + rest
		}
		rest -= n + 1 // the line's text and the space that replaced its break
	}
}
