package rules

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// Incremental checkpoints (stream.DeltaSnapshotter): each cooldown entry is
// an entry of its own, keyed by its rule and key (rule, a zero byte, key
// text), valued by its end (a varint); the engine has no base.

// SnapshotDelta implements stream.DeltaSnapshotter: the cooldown entries
// started, expired or shed since the last call (every entry when d.Full,
// which starts the tracking).
func (en *Engine) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	c := &en.cool
	if d.Full || c.dirty == nil {
		d.Full = true
		c.dirty = map[dirtyCool]struct{}{}
		for name, r := range c.byRule {
			for k, end := range r.ends {
				d.Put(coolEntryKey(name, k), binary.AppendVarint(nil, end))
			}
			for n, end := range r.ints {
				d.Put(coolEntryKey(name, coolKey{n: n, isInt: true}.text()), binary.AppendVarint(nil, end))
			}
		}
		return nil, nil
	}
	for dc := range c.dirty {
		key := coolEntryKey(dc.rule, dc.key.text())
		if end, ok := c.rule(dc.rule).get(dc.key); ok {
			d.Put(key, binary.AppendVarint(nil, end))
		} else {
			d.Del(key)
		}
	}
	clear(c.dirty)
	return nil, nil
}

func coolEntryKey(rule, key string) []byte {
	b := make([]byte, 0, len(rule)+1+len(key))
	return append(append(append(b, rule...), 0), key...)
}

// RestoreDelta implements stream.DeltaSnapshotter. On error the state is
// left unchanged.
func (en *Engine) RestoreDelta(base []byte, entries []stream.KV) error {
	if len(base) != 0 {
		return errors.New("rules: restore cooldowns: unexpected base")
	}
	c := newCooldowns()
	for _, kv := range entries {
		i := 0
		for i < len(kv.Key) && kv.Key[i] != 0 {
			i++
		}
		end, n := binary.Varint(kv.Value)
		if i == len(kv.Key) || n <= 0 || n != len(kv.Value) {
			return fmt.Errorf("rules: restore cooldowns: bad entry %q", kv.Key)
		}
		rc, k := c.rule(string(kv.Key[:i])), textKey(string(kv.Key[i+1:]))
		if _, dup := rc.get(k); dup {
			return fmt.Errorf("rules: restore cooldowns: entry %q repeated", kv.Key)
		}
		rc.set(k, end)
		c.n++
	}
	c.rebuildQueues()
	c.gen = en.cool.gen + 1
	c.dirty = map[dirtyCool]struct{}{}
	en.cool = c
	en.coolSize.Store(int64(c.len()))
	return nil
}
