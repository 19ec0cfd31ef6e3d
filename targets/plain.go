package targets

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// On one Redis, the chunks of events in input order (stream.Event.Seq)
// whose writes are all stream appends go without the write script, as
// plain commands in a transaction: the script's Lua turns every value it
// unpacks into a Lua string, which costs Redis about as much as the XADD
// itself (measured: 1.0 µs of Redis CPU per pipelined XADD, 1.0 µs per
// XADD of literals in a Lua loop, 1.75 µs when the values come from a Lua
// table). A send then takes three round trips instead of one:
//
//  1. WATCH the marker state key of each partition in the send;
//  2. read each one's epoch and high-water mark (HMGET e w) and the type
//     of each target key. A higher epoch fences the send (a zombie); a key
//     of another type fails it, naming the key, before anything is
//     written;
//  3. MULTI, the XADDs of the events above the partition's high-water
//     mark (those at or below it were written: a replay, or a send that
//     reached Redis but whose reply was lost), HSET of the new mark and
//     epoch, EXEC.
//
// If anything changed a watched state between 1 and 3 (another consumer
// took the partition, or this sink's own earlier send), EXEC applies
// nothing, and the send is retried from 1. The marks and the appends thus
// land together, as the script's do, with the same skipping on a replay:
// a send is all or nothing. A target key whose type another client changes
// between 2 and 3 would make its XADD fail inside EXEC after the mark was
// raised: the error names the events, which are not written again.

// plainCommands says whether commands can go as plain commands: stream
// appends only, each to one key.
func plainCommands(commands [][]arg) bool {
	for _, c := range commands {
		if len(c) < 2 || c[0].value || c[0].id || c[0].lit != "XADD" || c[1].id {
			return false
		}
	}
	return len(commands) > 0
}

// allPlain says whether every chunk to send goes as plain commands.
func allPlain(chunks []*chunk) bool {
	n := 0
	for _, c := range chunks {
		if c.done || c.events == 0 {
			continue
		}
		if !c.seq || c.sh == nil || !c.sh.plain || c.origin == nil || c.slot != nil {
			return false
		}
		n++
	}
	return n > 0
}

// unpackStrings reads the flat array of strings a packer wrote.
func unpackStrings(b []byte) ([][]byte, error) {
	if len(b) < 5 || b[0] != 0xdd {
		return nil, errors.New("targets: bad chunk encoding")
	}
	n := binary.BigEndian.Uint32(b[1:5])
	out := make([][]byte, 0, n)
	b = b[5:]
	for range n {
		if len(b) == 0 {
			return nil, errors.New("targets: short chunk")
		}
		var size, hdr int
		switch h := b[0]; {
		case h >= 0xa0 && h <= 0xbf:
			size, hdr = int(h-0xa0), 1
		case h == 0xd9 && len(b) >= 2:
			size, hdr = int(b[1]), 2
		case h == 0xda && len(b) >= 3:
			size, hdr = int(binary.BigEndian.Uint16(b[1:3])), 3
		case h == 0xdb && len(b) >= 5:
			size, hdr = int(binary.BigEndian.Uint32(b[1:5])), 5
		default:
			return nil, errors.New("targets: bad chunk encoding")
		}
		if len(b) < hdr+size {
			return nil, errors.New("targets: short chunk")
		}
		out = append(out, b[hdr:hdr+size])
		b = b[hdr+size:]
	}
	return out, nil
}

// plainChunk is a chunk to send as plain commands, decoded.
type plainChunk struct {
	c      *chunk
	vals   [][]byte // the chunk's strings
	stride int      // per event
}

// decodePlain decodes a chunk in input order of plain writes.
func decodePlain(c *chunk) (plainChunk, error) {
	vals, err := unpackStrings(c.p.finish())
	if err != nil {
		return plainChunk{}, err
	}
	stride := 1
	if c.script.withID {
		stride++
	}
	for _, cmd := range c.sh.commands {
		stride += valuesOf(cmd)
	}
	if len(vals) != stride*c.events {
		return plainChunk{}, fmt.Errorf("targets: chunk of %d values for %d events of %d", len(vals), c.events, stride)
	}
	return plainChunk{c: c, vals: vals, stride: stride}, nil
}

// event returns event e's sequence key, its ID (the key if the chunk
// carries none) and its writes' values.
func (pc *plainChunk) event(e int) (key string, id []byte, vals [][]byte) {
	at := pc.vals[e*pc.stride : (e+1)*pc.stride]
	if pc.c.script.withID {
		return string(at[0]), at[1], at[2:]
	}
	return string(at[0]), at[0], at[1:]
}

// keyOf returns the key cmd writes, vals being its values.
func keyOf(cmd []arg, vals [][]byte) string {
	if cmd[1].value {
		return string(vals[0])
	}
	return cmd[1].lit
}

// valuesOf counts the values of cmd.
func valuesOf(cmd []arg) int {
	n := 0
	for _, a := range cmd {
		if a.value {
			n++
		}
	}
	return n
}

// sendPlain sends chunks (allPlain) as one WATCHed transaction on the
// sink's own connection, retrying it while a watched state changes under
// it.
func (s *RedisSink) sendPlain(ctx context.Context, chunks []*chunk) error {
	var todo []plainChunk
	var bases, keys []string
	for _, c := range chunks {
		if c.done || c.events == 0 {
			continue
		}
		pc, err := decodePlain(c)
		if err != nil {
			return Permanent(err)
		}
		todo = append(todo, pc)
		if !slices.Contains(bases, c.base) {
			bases = append(bases, c.base)
		}
		for e := range c.events {
			_, _, vals := pc.event(e)
			for _, cmd := range c.sh.commands {
				if k := keyOf(cmd, vals); !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
				vals = vals[valuesOf(cmd):]
			}
		}
	}
	if s.resp == nil {
		s.resp = &respConn{opt: s.tx.Options()}
	}
	for attempt := 0; ; attempt++ {
		written, skipped, err := s.plainTx(ctx, todo, bases, keys)
		if errors.Is(err, errTxAborted) && attempt < 8 {
			continue // a watched state changed: read it again
		}
		if err != nil {
			return err
		}
		for _, pc := range todo {
			pc.c.done = true
		}
		s.stats.written.Add(written)
		s.stats.duplicates.Add(skipped)
		return nil
	}
}

// errTxAborted is an EXEC that applied nothing: a watched key changed.
var errTxAborted = errors.New("transaction aborted: a partition's mark changed meanwhile")

// plainTx is one attempt of sendPlain.
func (s *RedisSink) plainTx(ctx context.Context, todo []plainChunk, bases, keys []string) (written, skipped int64, err error) {
	rc := s.resp
	fail := func(err error) (int64, int64, error) {
		return 0, 0, fmt.Errorf("redis sink %s: %w", s.cfg.Name, err)
	}
	if err := rc.connect(ctx); err != nil {
		return fail(err)
	}
	stop := rc.deadline(ctx)
	defer stop()
	// 1, 2: watch and read the marks and the key types.
	rc.arrayHeader(1 + len(bases))
	rc.bulkString("WATCH")
	for _, b := range bases {
		rc.bulkString(b)
	}
	for _, b := range bases {
		rc.command("HMGET", b, "e", "w")
	}
	for _, k := range keys {
		rc.command("TYPE", k)
	}
	if err := rc.w.Flush(); err != nil {
		return fail(rc.fail(err))
	}
	if _, err := rc.reply(); err != nil {
		return fail(err)
	}
	hw := make(map[string]string, len(bases))
	var refuse error
	for _, b := range bases {
		v, err := rc.reply()
		if err != nil {
			return fail(err)
		}
		mark, _ := v.([]any)
		if len(mark) != 2 {
			return fail(rc.fail(fmt.Errorf("HMGET %s: reply %v", b, v)))
		}
		e, _ := mark[0].(string)
		w, _ := mark[1].(string)
		cur, _ := strconv.ParseInt(cmp.Or(e, "0"), 10, 64)
		for _, pc := range todo {
			if o := pc.c.origin; pc.c.base == b && cur > o.Epoch && refuse == nil {
				refuse = Permanent(fmt.Errorf("%w: partition %s was assigned to another consumer since this one took it (epoch %d of %s, this consumer's %d): this consumer is a zombie, its writes are refused",
					ErrFenced, o.Key, cur, b, o.Epoch))
			}
		}
		hw[b] = w
	}
	for _, k := range keys {
		v, err := rc.reply()
		if err != nil {
			return fail(err)
		}
		if t, _ := v.(string); t != "none" && t != "stream" && refuse == nil {
			refuse = Permanent(fmt.Errorf("WRONGTYPE: key %s holds a %s, not a stream: nothing of this batch was written", k, t))
		}
	}
	if refuse != nil {
		rc.command("UNWATCH")
		if err := rc.w.Flush(); err != nil {
			rc.fail(err)
		} else if _, err := rc.reply(); err != nil {
			rc.fail(err)
		}
		return fail(refuse)
	}
	// 3: the transaction.
	rc.command("MULTI")
	queued := 0
	last := map[string]string{}
	epoch := map[string]int64{}
	for _, pc := range todo {
		c := pc.c
		for e := range c.events {
			key, id, vals := pc.event(e)
			if top := cmp.Or(last[c.base], hw[c.base]); top != "" && key <= top {
				skipped++
				continue
			}
			for _, cmd := range c.sh.commands {
				rc.arrayHeader(len(cmd))
				for _, a := range cmd {
					switch {
					case a.id:
						rc.bulk(id)
					case a.value:
						rc.bulk(vals[0])
						vals = vals[1:]
					default:
						rc.bulkString(a.lit)
					}
				}
				queued++
			}
			last[c.base], epoch[c.base] = key, c.origin.Epoch
			written++
		}
	}
	for _, b := range bases {
		if k, ok := last[b]; ok {
			rc.command("HSET", b, "e", strconv.FormatInt(epoch[b], 10), "w", k)
			rc.command("PEXPIRE", b, strconv.FormatInt(OriginKeep.Milliseconds(), 10))
			queued += 2
		}
	}
	rc.command("EXEC")
	if err := rc.w.Flush(); err != nil {
		return fail(rc.fail(err))
	}
	var queueErr error
	for range 1 + queued { // MULTI's OK, then QUEUED each
		if _, err := rc.reply(); err != nil {
			var re respError
			if !errors.As(err, &re) {
				return fail(err)
			}
			queueErr = cmp.Or(queueErr, err)
		}
	}
	v, err := rc.read(false)
	var re respError
	switch {
	case err != nil && !errors.As(err, &re):
		return fail(err) // the connection broke: a retry reads the marks again
	case queueErr != nil:
		return fail(classify(fmt.Errorf("transaction refused: %w", queueErr)))
	case err != nil:
		// EXEC ran: the marks were raised past events whose command failed.
		return fail(Permanent(fmt.Errorf("%d events written, but commands of some failed (those events are not written again): %w", written, err)))
	case v == nil:
		return 0, 0, errTxAborted
	}
	return written, skipped, nil
}
