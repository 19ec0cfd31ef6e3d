package targets

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
func (pc *plainChunk) event(e int) (key, id []byte, vals [][]byte) {
	at := pc.vals[e*pc.stride : (e+1)*pc.stride]
	if pc.c.script.withID {
		return at[0], at[1], at[2:]
	}
	return at[0], at[0], at[1:]
}

// above says whether the sequence key key is above the mark top ("": none).
func above(key []byte, top string) bool { return top == "" || string(key) > top }

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

// sendPlain sends chunks (allPlain), a WATCHed transaction each, on the
// sink's own connection; it retries those a changed mark aborted once it
// read the marks again.
func (s *RedisSink) sendPlain(ctx context.Context, chunks []*chunk) error {
	var todo []plainChunk
	for _, c := range chunks {
		if c.done || c.events == 0 {
			continue
		}
		pc, err := decodePlain(c)
		if err != nil {
			return Permanent(err)
		}
		todo = append(todo, pc)
	}
	if s.resp == nil {
		s.resp = &respConn{opt: s.tx.Options()}
		s.marks = map[string]string{}
	}
	for attempt := 0; ; attempt++ {
		err := s.plainTx(ctx, todo)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errTxAborted) || attempt >= 8 {
			return err
		}
		todo = slices.DeleteFunc(todo, func(pc plainChunk) bool { return pc.c.done })
	}
}

// errTxAborted is a transaction that applied nothing because a partition's
// mark was not the one the sink knew: the marks are read again.
var errTxAborted = errors.New("transaction aborted: a partition's mark changed meanwhile")

// guardLua checks, between a WATCH of the mark KEYS[1] and the MULTI of a
// transaction, that the mark's epoch is at most ARGV[1] and its high-water
// mark ARGV[2] (what the sink knows it wrote), and that each key ARGV[3],
// ARGV[5]... is of type ARGV[4], ARGV[6]... or missing. Otherwise it
// changes the mark (x), which makes the EXEC apply nothing, and says why.
const guardLua = `
local function abort(why)
  redis.pcall('HINCRBY', KEYS[1], 'x', 1)
  return redis.error_reply('RSABORT ' .. why)
end
local st = redis.pcall('HMGET', KEYS[1], 'e', 'w')
if type(st) ~= 'table' or st.err then return abort('MARK ' .. tostring(st.err)) end
if tonumber(st[1] or '0') > tonumber(ARGV[1]) then return abort('FENCED ' .. st[1]) end
if (st[2] or '') ~= ARGV[2] then return abort('MOVED') end
for i = 3, #ARGV, 2 do
  local t = redis.pcall('TYPE', ARGV[i])
  if type(t) == 'table' then t = t.ok or t.err end
  if t ~= 'none' and t ~= ARGV[i + 1] then return abort('WRONGTYPE ' .. ARGV[i] .. ' holds a ' .. tostring(t) .. ', not a ' .. ARGV[i + 1]) end
end
return 0
`

// readMarks reads the marks of bases the sink does not know. A partition
// with no checkpoint whose mark is set is logged: it starts over (a crash
// before its first checkpoint, or a checkpoint deleted to read its input
// again), and what it emits up to the mark is skipped.
func (s *RedisSink) readMarks(bases []string, todo []plainChunk) error {
	rc := s.resp
	for _, b := range bases {
		rc.command("HGET", b, "w")
	}
	if err := rc.w.Flush(); err != nil {
		return rc.fail(err)
	}
	for _, b := range bases {
		v, err := rc.reply()
		if err != nil {
			return err
		}
		w, _ := v.(string)
		s.marks[b] = w
		for _, pc := range todo {
			if o := pc.c.origin; pc.c.base == b && w != "" && o.Gen < 0 {
				q, _ := strconv.ParseInt(w[:min(16, len(w))], 10, 64)
				s.cfg.Logger.Warn("a partition with no checkpoint has outputs marked written: those of its inputs up to the mark are skipped as written (after a crash before its first checkpoint, as they should; to write them again after deleting its checkpoint, delete the mark too)",
					"sink", s.cfg.Name, "partition", o.Key, "mark", b, "input", q)
				break
			}
		}
	}
	return nil
}

// plainTxn is a chunk's transaction in plainTx.
type plainTxn struct {
	c                *chunk
	written, skipped int64
	mark             string // the new high-water mark; "" if nothing is written
	queued           int
}

// plainTx sends todo: per chunk with events above its partition's mark,
// WATCH the mark, the guard, MULTI, the XADDs, the new mark, EXEC, each
// flushed as soon as written while another goroutine reads the replies of
// those before, so that Redis applies one transaction while the next is
// written. A transaction after one that applied nothing applies nothing
// either (its guard finds the mark it expects missing), so the partition's
// writes stay in order.
func (s *RedisSink) plainTx(ctx context.Context, todo []plainChunk) error {
	rc := s.resp
	fail := func(err error) error { return fmt.Errorf("redis sink %s: %w", s.cfg.Name, err) }
	if err := rc.connect(ctx); err != nil {
		return fail(err)
	}
	stop := rc.deadline(ctx)
	defer stop()
	var unknown []string
	for _, pc := range todo {
		if _, ok := s.marks[pc.c.base]; !ok && !slices.Contains(unknown, pc.c.base) {
			unknown = append(unknown, pc.c.base)
		}
	}
	if len(unknown) > 0 {
		if err := s.readMarks(unknown, todo); err != nil {
			return fail(err)
		}
	}
	expect := maps.Clone(s.marks) // the marks each transaction leaves, if all apply
	sent := make(chan *plainTxn, len(todo))
	read := make(chan error, 1)
	go func() { read <- s.readTxns(sent) }()
	var keys []string
	var werr error
	for _, pc := range todo {
		c := pc.c
		t := &plainTxn{c: c}
		top := expect[c.base]
		first := -1
		keys = keys[:0]
		for e := range c.events {
			key, _, vals := pc.event(e)
			if !above(key, top) {
				t.skipped++
				continue
			}
			if first < 0 {
				first = e
			}
			for _, cmd := range c.sh.commands {
				if k := keyOf(cmd, vals); !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
				vals = vals[valuesOf(cmd):]
			}
		}
		if first >= 0 {
			s.writeTxn(pc, t, top, first, keys)
			expect[c.base] = t.mark
			if werr = rc.w.Flush(); werr != nil {
				rc.fail(werr)
				break
			}
		}
		sent <- t
	}
	close(sent)
	if err := <-read; err != nil {
		return fail(err)
	}
	if werr != nil {
		return fail(werr)
	}
	return nil
}

// writeTxn writes t's transaction of pc's events from first on above top.
func (s *RedisSink) writeTxn(pc plainChunk, t *plainTxn, top string, first int, keys []string) {
	rc, c := s.resp, pc.c
	rc.command("WATCH", c.base)
	rc.arrayHeader(6 + 2*len(keys))
	rc.bulkString("EVAL")
	rc.bulkString(guardLua)
	rc.bulkString("1")
	rc.bulkString(c.base)
	rc.bulkString(strconv.FormatInt(c.origin.Epoch, 10))
	rc.bulkString(top)
	for _, k := range keys {
		rc.bulkString(k)
		rc.bulkString("stream")
	}
	rc.command("MULTI")
	var last []byte
	for e := first; e < c.events; e++ {
		key, id, vals := pc.event(e)
		if !above(key, top) {
			t.skipped++
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
			t.queued++
		}
		t.written++
		last = key
	}
	t.mark = string(last)
	rc.command("HSET", c.base, "e", strconv.FormatInt(c.origin.Epoch, 10), "w", t.mark)
	rc.command("PEXPIRE", c.base, strconv.FormatInt(OriginKeep.Milliseconds(), 10))
	rc.command("EXEC")
	t.queued += 2
}

// readTxns reads the replies of the transactions sent, in order, and
// settles their chunks. It returns the first failure: a broken connection,
// or the first transaction that applied nothing (errTxAborted when a mark
// changed, else why). What follows an unapplied transaction is not settled:
// it is sent again.
func (s *RedisSink) readTxns(sent <-chan *plainTxn) error {
	rc := s.resp
	var first error
	for t := range sent {
		c := t.c
		if t.mark == "" { // all written already
			if first == nil {
				c.done = true
				s.stats.duplicates.Add(t.skipped)
			}
			continue
		}
		// WATCH, the guard, MULTI, QUEUED each, EXEC.
		if _, err := rc.reply(); err != nil {
			return cmp.Or(first, err)
		}
		_, guard := rc.reply()
		var re respError
		if guard != nil && !errors.As(guard, &re) {
			return cmp.Or(first, guard)
		}
		var queueErr error
		for range 1 + t.queued {
			if _, err := rc.read(false); err != nil {
				if !errors.As(err, &re) {
					return cmp.Or(first, err)
				}
				queueErr = cmp.Or(queueErr, err)
			}
		}
		v, err := rc.read(false)
		switch {
		case err != nil && !errors.As(err, &re):
			return cmp.Or(first, err) // the connection broke: a retry reads the marks again
		case err != nil && queueErr != nil:
			delete(s.marks, c.base)
			first = cmp.Or(first, classify(fmt.Errorf("transaction refused: %w", queueErr)))
		case err != nil:
			// EXEC ran: the mark was raised past events whose command
			// failed (a key's type changed since the guard read it).
			s.marks[c.base] = t.mark
			first = cmp.Or(first, Permanent(fmt.Errorf("%d events written, but commands of some failed (those events are not written again): %w", t.written, err)))
		case v == nil || guard != nil:
			delete(s.marks, c.base)
			switch msg := fmt.Sprint(guard); {
			case strings.HasPrefix(msg, "RSABORT FENCED "):
				o := c.origin
				first = cmp.Or(first, Permanent(fmt.Errorf("%w: partition %s was assigned to another consumer since this one took it (epoch %s of %s, this consumer's %d): this consumer is a zombie, its writes are refused",
					ErrFenced, o.Key, strings.TrimPrefix(msg, "RSABORT FENCED "), c.base, o.Epoch)))
			case strings.HasPrefix(msg, "RSABORT WRONGTYPE "):
				first = cmp.Or(first, Permanent(fmt.Errorf("WRONGTYPE: %s: nothing of this chunk was written", strings.TrimPrefix(msg, "RSABORT WRONGTYPE "))))
			case guard != nil && !strings.HasPrefix(msg, "RSABORT"):
				first = cmp.Or(first, fmt.Errorf("the guard of a transaction failed: %w", guard))
			default:
				first = cmp.Or(first, errTxAborted)
			}
		case first != nil:
			// Applied after one that was not: its guard expects the mark
			// the other would have set, so this cannot happen.
			delete(s.marks, c.base)
			first = Permanent(fmt.Errorf("a transaction applied after one that did not (%v)", first))
		default:
			c.done = true
			s.marks[c.base] = t.mark
			s.stats.written.Add(t.written)
			s.stats.duplicates.Add(t.skipped)
		}
	}
	return first
}
