package targets

import "encoding/binary"

// packer writes the flat MessagePack array the Lua script reads: strings
// only. The array header is reserved up front and patched by finish, so a
// chunk is encoded in one pass with no intermediate values.
type packer struct {
	buf []byte
	n   uint32 // elements so far
}

func (p *packer) reset() {
	p.buf = append(p.buf[:0], 0xdd, 0, 0, 0, 0) // array32, length patched later
	p.n = 0
}

func (p *packer) finish() []byte {
	binary.BigEndian.PutUint32(p.buf[1:5], p.n)
	return p.buf
}

// strHeader writes the header of a string of n bytes.
func (p *packer) strHeader(n int) {
	switch {
	case n < 32:
		p.buf = append(p.buf, 0xa0|byte(n))
	case n < 1<<8:
		p.buf = append(p.buf, 0xd9, byte(n))
	case n < 1<<16:
		p.buf = append(p.buf, 0xda, byte(n>>8), byte(n))
	default:
		p.buf = append(p.buf, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	p.n++
}

func (p *packer) str(s string) {
	p.strHeader(len(s))
	p.buf = append(p.buf, s...)
}

func (p *packer) bytes(b []byte) {
	p.strHeader(len(b))
	p.buf = append(p.buf, b...)
}

// mark and rewind undo a partly encoded event after an error.
func (p *packer) mark() (int, uint32) { return len(p.buf), p.n }

func (p *packer) rewind(at int, n uint32) { p.buf, p.n = p.buf[:at], n }

// raw appends the elements q holds (written without an array header).
func (p *packer) raw(q *packer) {
	p.buf = append(p.buf, q.buf...)
	p.n += q.n
}
