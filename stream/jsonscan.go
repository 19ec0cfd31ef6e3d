package stream

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is encoding/json's limit on nested objects and arrays.
const maxJSONDepth = 10000

var errJSONDepth = errors.New("JSON nested too deeply")

// jsonScanner reads one JSON text with no allocation: strings are returned
// as the bytes between their quotes (escaped), numbers as their text.
type jsonScanner struct {
	s string
	i int
}

func (p *jsonScanner) ws() {
	s, i := p.s, p.i
	for ; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		}
		break
	}
	p.i = i
}

// peek returns the next byte, or 0 at the end.
func (p *jsonScanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *jsonScanner) syntaxErr(want string) error {
	if p.i >= len(p.s) {
		return fmt.Errorf("JSON ends early: want %s", want)
	}
	return fmt.Errorf("invalid JSON at byte %d: want %s, found %s", p.i, want, quoteText(p.s[p.i:min(p.i+8, len(p.s))]))
}

// str reads a string at p.i (a '"'). It returns its content still escaped,
// and whether it has escapes.
func (p *jsonScanner) str() (string, bool, error) {
	start := p.i + 1
	s, i := p.s, start
	for i < len(s) && !jsonStrStop[s[i]] {
		i++
	}
	if i < len(s) && s[i] == '"' { // no escapes: the common case
		p.i = i + 1
		return s[start:i], false, nil
	}
	esc := false
	for i < len(p.s) {
		c := p.s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return p.s[start:i], esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(p.s) {
				p.i = len(p.s)
				return "", false, p.syntaxErr("an escape")
			}
			switch p.s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(p.s) || hex4(p.s[i+2:i+6]) < 0 {
					p.i = i
					return "", false, p.syntaxErr(`\u and four hex digits`)
				}
				i += 6
			default:
				p.i = i
				return "", false, p.syntaxErr("a valid escape")
			}
		case c < 0x20:
			p.i = i
			return "", false, p.syntaxErr("no control character in a string")
		default:
			i++
		}
	}
	p.i = len(p.s)
	return "", false, p.syntaxErr(`a closing '"'`)
}

// jsonStrStop marks the bytes that end the plain run of a string: the
// closing quote, an escape, or a control character (an error).
var jsonStrStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// number reads a number at p.i; isInt is false when it has a fraction or an
// exponent.
func (p *jsonScanner) number() (text string, isInt bool, err error) {
	s, i := p.s, p.i
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		p.i = i
		return "", false, p.syntaxErr("a digit")
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		i++
		isInt = false
		if !digits() {
			p.i = i
			return "", false, p.syntaxErr("a digit after '.'")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		isInt = false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			p.i = i
			return "", false, p.syntaxErr("a digit in the exponent")
		}
	}
	text, p.i = s[p.i:i], i
	return text, isInt, nil
}

// literal reads word (true, false or null) at p.i.
func (p *jsonScanner) literal(word string) error {
	if len(p.s)-p.i < len(word) || p.s[p.i:p.i+len(word)] != word {
		return p.syntaxErr(word)
	}
	p.i += len(word)
	return nil
}

// skip reads and discards one value at nesting depth depth (the top-level
// object is depth 1), checking its syntax as encoding/json does.
func (p *jsonScanner) skip(depth int) error {
	c := p.peek()
	switch c {
	case '"':
		_, _, err := p.str()
		return err
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	case '{', '[':
		if depth > maxJSONDepth {
			return errJSONDepth
		}
		p.i++
		p.ws()
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if p.peek() == end {
			p.i++
			return nil
		}
		for {
			if c == '{' {
				if err := p.key(); err != nil {
					return err
				}
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.ws()
			switch p.peek() {
			case ',':
				p.i++
				p.ws()
			case end:
				p.i++
				return nil
			default:
				return p.syntaxErr("',' or '" + string(end) + "'")
			}
		}
	}
	if c == '-' || (c >= '0' && c <= '9') {
		_, _, err := p.number()
		return err
	}
	return p.syntaxErr("a value")
}

// key reads `"name" :` and the whitespace after it, discarding the name.
func (p *jsonScanner) key() error {
	if p.peek() != '"' {
		return p.syntaxErr("a key string")
	}
	if _, _, err := p.str(); err != nil {
		return err
	}
	return p.colon()
}

func (p *jsonScanner) colon() error {
	p.ws()
	if p.peek() != ':' {
		return p.syntaxErr("':'")
	}
	p.i++
	p.ws()
	return nil
}

// hex4 returns the value of four hex digits, or -1.
func hex4(s string) rune {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unescapeJSON decodes the escapes of a string str accepted, as
// encoding/json does: a surrogate pair becomes one rune, a lone surrogate
// U+FFFD.
func unescapeJSON(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, hex4(s[i+2:i+6])); dec != unicode.ReplacementChar {
						b = utf8.AppendRune(b, dec)
						i += 6
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, s[i+1])
		}
		i += 2
	}
	return string(b)
}
