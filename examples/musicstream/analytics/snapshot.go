package analytics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// ErrCorrupt is wrapped by Restore's errors on bad input.
var ErrCorrupt = errors.New("analytics: corrupt snapshot")

const snapVersion = 1

// Snapshot serialises the windows' state and the writes still pending:
// "RSA", a version byte, the windows (length-prefixed), then the pending
// entries.
func (a *Analytics) Snapshot() ([]byte, error) {
	b := append([]byte("RSA"), snapVersion)
	b = binary.AppendUvarint(b, uint64(len(a.windows)))
	for i, w := range a.windows {
		data, err := w.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("analytics: window %s: %w", a.windowName(i), err)
		}
		b = appendBytes(b, data)
	}
	suffixes := make([]string, 0, len(a.w.pending))
	for s := range a.w.pending {
		suffixes = append(suffixes, s)
	}
	sort.Strings(suffixes)
	b = binary.AppendUvarint(b, uint64(len(suffixes)))
	for _, s := range suffixes {
		e := a.w.pending[s]
		b = appendBytes(b, []byte(s))
		b = append(b, e.kind)
		b = binary.AppendUvarint(b, uint64(e.top))
		b = appendBytes(b, []byte(e.index))
		b = appendBytes(b, []byte(e.bucket))
		b = binary.AppendVarint(b, e.score)
		b = binary.AppendUvarint(b, uint64(len(e.fields)))
		for f, n := range e.fields {
			b = appendBytes(b, []byte(f))
			b = binary.AppendVarint(b, n)
		}
	}
	return b, nil
}

func appendBytes(b, data []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// decoder reads a snapshot, remembering the first error.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrCorrupt, what, d.off)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(what + " past the end")
		return nil
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return v
}

func (d *decoder) byte1(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(what)
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

// Restore replaces the state with a snapshot of an operator of the same
// configuration.
func (a *Analytics) Restore(data []byte) error {
	if len(data) < 4 || string(data[:3]) != "RSA" {
		return fmt.Errorf("%w: not an analytics snapshot", ErrCorrupt)
	}
	if data[3] != snapVersion {
		return fmt.Errorf("%w: unknown version %d", ErrCorrupt, data[3])
	}
	d := &decoder{b: data, off: 4}
	if n := d.uvarint("window count"); d.err == nil && n != uint64(len(a.windows)) {
		return fmt.Errorf("%w: %d windows, want %d", ErrCorrupt, n, len(a.windows))
	}
	parts := make([][]byte, len(a.windows))
	for i := range parts {
		parts[i] = d.bytes("window " + a.windowName(i))
	}
	pending := map[string]*entry{}
	n := d.uvarint("pending count")
	for i := uint64(0); i < n && d.err == nil; i++ {
		s := string(d.bytes("key"))
		e := &entry{kind: d.byte1("kind"), top: int(d.uvarint("top")), index: string(d.bytes("index")),
			bucket: string(d.bytes("bucket")), score: d.varint("score"), fields: map[string]int64{}}
		if d.err == nil && e.kind != kindHash && e.kind != kindZset {
			d.fail(fmt.Sprintf("key %q has kind %q", s, e.kind))
		}
		nf := d.uvarint("field count")
		for j := uint64(0); j < nf && d.err == nil; j++ {
			f := string(d.bytes("field"))
			e.fields[f] = d.varint("count")
		}
		pending[s] = e
	}
	if d.err == nil && d.off != len(data) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return d.err
	}
	for i, w := range a.windows {
		if err := w.Restore(parts[i]); err != nil {
			return fmt.Errorf("analytics: window %s: %w", a.windowName(i), err)
		}
	}
	a.w.pending = pending
	a.stats.pending.Store(int64(len(pending)))
	return nil
}
