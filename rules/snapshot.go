package rules

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The snapshot format of an engine's cooldown state, version 1:
//
//	"RSCD" 0x01 uvarint(n) n × { uvarint(len) rule, uvarint(len) key, varint(end) }
//
// Entries are sorted by rule then key, so equal states give equal bytes.
// cdEntry is one cooldown entry: its rule, key and end.
type cdEntry struct {
	rule, key string
	end       int64
}

const (
	snapMagic   = "RSCD"
	snapVersion = 1
)

// Snapshot serialises the cooldown state.
func (en *Engine) Snapshot() ([]byte, error) {
	entries := make([]cdEntry, 0, en.cool.len())
	for rule, r := range en.cool.byRule {
		for k, end := range r.ends {
			entries = append(entries, cdEntry{rule, k, end})
		}
		for n, end := range r.ints {
			entries = append(entries, cdEntry{rule, strconv.FormatInt(n, 10), end})
		}
	}
	slices.SortFunc(entries, func(a, b cdEntry) int {
		return cmpOr(strings.Compare(a.rule, b.rule), strings.Compare(a.key, b.key))
	})
	b := append([]byte(snapMagic), snapVersion)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = binary.AppendUvarint(b, uint64(len(e.rule)))
		b = append(b, e.rule...)
		b = binary.AppendUvarint(b, uint64(len(e.key)))
		b = append(b, e.key...)
		b = binary.AppendVarint(b, e.end)
	}
	return b, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

var errSnapTruncated = errors.New("truncated")

// Restore replaces the cooldown state with a snapshot. On error the state
// is left unchanged.
func (en *Engine) Restore(data []byte) error {
	c, err := decodeCooldowns(data)
	if err != nil {
		return fmt.Errorf("rules: restore cooldowns: %w", err)
	}
	c.gen = en.cool.gen + 1
	en.cool = c
	en.coolSize.Store(int64(c.len()))
	return nil
}

func decodeCooldowns(data []byte) (cooldowns, error) {
	if len(data) < len(snapMagic)+1 || string(data[:len(snapMagic)]) != snapMagic {
		return cooldowns{}, errors.New("not a rules cooldown snapshot (bad magic)")
	}
	if v := data[len(snapMagic)]; v != snapVersion {
		return cooldowns{}, fmt.Errorf("snapshot version %d, want %d", v, snapVersion)
	}
	r := snapReader{b: data[len(snapMagic)+1:]}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b))/3 { // each entry takes at least 3 bytes
		return cooldowns{}, fmt.Errorf("%d entries do not fit in %d bytes", n, len(r.b))
	}
	c := newCooldowns()
	for i := uint64(0); i < n && r.err == nil; i++ {
		rule, key, end := r.str(), r.str(), r.varint()
		if r.err != nil {
			break
		}
		rc, k := c.rule(rule), textKey(key)
		if _, dup := rc.get(k); dup {
			return cooldowns{}, fmt.Errorf("entry %d (%q, %q) repeated", i, rule, key)
		}
		rc.set(k, end)
		c.n++
	}
	if r.err != nil {
		return cooldowns{}, r.err
	}
	if len(r.b) > 0 {
		return cooldowns{}, fmt.Errorf("%d trailing bytes", len(r.b))
	}
	c.rebuildQueues()
	return c, nil
}

type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errSnapTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errSnapTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) || n > math.MaxInt32 {
		r.err = errSnapTruncated
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
