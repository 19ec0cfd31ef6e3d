package targets

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/rulestream/rulestream/stream"
)

// On a Redis Cluster every script call must touch the keys of one hash
// slot, and declare them. A sink writing to a *redis.ClusterClient thus
// splits each event by the slots of its keys: the writes of one slot go to
// a chunk of that slot, whose script holds only those writes (a subset of
// the shape's, see shape.subs), with the event's marker in a set of that
// slot too: its key carries a hash tag of the slot (slotTag) right after
// MarkerPrefix, e.g. "rulestream:done:{1bz}XADD queue:ads:<bucket>". Each
// part of an event is thus applied and marked atomically, and skipped on a
// replay, on its own. A chunk is filled per slot; chunks of one slot are
// sent in the order they were filled, so the writes of one key keep their
// order.

// clusterState is what a sink writing to a cluster keeps.
type clusterState struct {
	writers []slotWriter
	open    map[int]*chunk // the chunk filling, per slot
	bases   map[int]string // marker base key, per slot
	prefix  string         // MarkerPrefix
	name    string         // "}" + Name + ":"
}

// slotWriter is a write's key and values for the event being encoded.
type slotWriter struct {
	static bool
	key    []byte // the key: the literal, or rendered for the event
	slot   int
	vals   packer // the write's values, without an array header
}

// slotPart is what a chunk of a cluster carries besides its events.
type slotPart struct {
	keys    []string            // KEYS: the marker base, then each target key once
	seen    map[string]struct{} // the target keys in keys
	flags   []byte              // per event, '1' if the chunk counts it (its first write)
	counted int
}

func newClusterState(writers []*writer, cfg Config) (*clusterState, error) {
	if len(writers) > 64 {
		return nil, fmt.Errorf("targets: redis sink %s: %d writes, more than the 64 a cluster sink splits by slot", cfg.Name, len(writers))
	}
	if strings.Contains(cfg.MarkerPrefix, "{") {
		return nil, fmt.Errorf("targets: redis sink %s: MarkerPrefix %q holds a \"{\": on a cluster the marker keys' hash tag follows it", cfg.Name, cfg.MarkerPrefix)
	}
	cs := &clusterState{open: map[int]*chunk{}, bases: map[int]string{}, prefix: cfg.MarkerPrefix, name: "}" + cfg.Name + ":"}
	for _, w := range writers {
		sw := slotWriter{static: w.key.Static()}
		if sw.static {
			key, _ := w.key.Render(&stream.Event{}) // as layout writes it
			sw.key = []byte(key)
			sw.slot = keySlot(sw.key)
		}
		cs.writers = append(cs.writers, sw)
	}
	return cs, nil
}

// reset forgets the filling chunks, which are no longer pending.
func (cs *clusterState) reset() {
	if cs != nil {
		clear(cs.open)
	}
}

// base returns the marker base key of slot.
func (cs *clusterState) base(slot int) string {
	b, ok := cs.bases[slot]
	if !ok {
		b = cs.prefix + "{" + slotTag(slot) + cs.name
		cs.bases[slot] = b
	}
	return b
}

// encodeSlots appends ev to a chunk per slot its writes touch and returns
// the bytes it added. Every key and value is encoded before any chunk is
// touched, so an error leaves none changed.
func (s *RedisSink) encodeSlots(sh *shape, ev *stream.Event, key *seqKeyT, seq bool) (int, error) {
	cs := s.cluster
	for i, w := range s.writers {
		sw := &cs.writers[i]
		if !sw.static {
			var err error
			if sw.key, err = w.key.AppendTo(sw.key[:0], ev); err != nil {
				return 0, fmt.Errorf("%s: %w", w.w, err)
			}
			sw.slot = keySlot(sw.key)
		}
		sw.vals.buf, sw.vals.n = sw.vals.buf[:0], 0
		if err := w.encode(&sw.vals, ev); err != nil {
			return 0, err
		}
	}
	if seq {
		for i := range cs.writers {
			if err := s.checkSeq(cs.base(cs.writers[i].slot)+"p:"+ev.Origin.Key, key, ev); err != nil {
				return 0, err
			}
		}
	}
	size := 0
	var placed uint64
	for i := range cs.writers {
		if placed&(1<<i) != 0 {
			continue
		}
		slot := cs.writers[i].slot
		var mask uint64
		for j := i; j < len(cs.writers); j++ {
			if cs.writers[j].slot == slot {
				mask |= 1 << j
			}
		}
		placed |= mask
		c := s.slotChunk(slot, s.subScript(sh, mask, seq), ev, seq)
		if seq {
			s.seqLast[c.base] = *key
		}
		at := len(c.p.buf)
		c.head(ev, key, seq)
		for j := range cs.writers {
			if mask&(1<<j) != 0 {
				sw := &cs.writers[j]
				c.p.raw(&sw.vals)
				if _, ok := c.slot.seen[string(sw.key)]; !ok {
					k := string(sw.key)
					c.slot.seen[k] = struct{}{}
					c.slot.keys = append(c.slot.keys, k)
				}
			}
		}
		c.events++
		c.ids = append(c.ids, ev.ID)
		if ev.ID != "" {
			c.seen[ev.ID] = struct{}{}
		}
		if i == 0 {
			c.slot.flags = append(c.slot.flags, '1')
			c.slot.counted++
		} else {
			c.slot.flags = append(c.slot.flags, '0')
		}
		size += len(c.p.buf) - at
	}
	return size, nil
}

// slotChunk returns the chunk of slot to encode ev into with script sc:
// the slot's filling chunk, unless it is full, of another script or
// origin, or holds ev's ID already.
func (s *RedisSink) slotChunk(slot int, sc *script, ev *stream.Event, seq bool) *chunk {
	cs := s.cluster
	if c := cs.open[slot]; c != nil {
		_, dup := c.seen[ev.ID]
		if c.events < s.cfg.ChunkSize && !c.done && c.seq == seq && c.script == sc && c.origin == ev.Origin && !dup {
			return c
		}
	}
	c := s.newChunk(sc)
	c.seq = seq
	s.setOrigin(c, ev.Origin, cs.base(slot))
	c.slot = &slotPart{keys: []string{cmp.Or(c.base, cs.base(slot))}, seen: map[string]struct{}{}}
	cs.open[slot] = c
	return c
}

// subScript returns the cluster script of the writes of sh in mask, of
// events in input order if seq (seqHead).
func (s *RedisSink) subScript(sh *shape, mask uint64, seq bool) *script {
	subs, gen := sh.subs, genScript
	if seq {
		subs, gen = sh.seqSubs, genSeqScript
	}
	if sc := subs[mask]; sc != nil {
		return sc
	}
	var commands [][]arg
	for j, c := range sh.commands {
		if mask&(1<<j) != 0 {
			commands = append(commands, c)
		}
	}
	sc := s.scriptOf(gen(commands, true))
	sc.withID = seq && usesID(commands)
	subs[mask] = sc
	return sc
}
