package targets

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// On one Redis, the chunks of events in input order (stream.Event.Seq)
// whose writes are all stream appends go without the write script, as
// plain commands in transactions: the script's Lua turns every value it
// unpacks into a Lua string, which costs Redis about as much as the XADD
// itself (measured: 1.0 µs of Redis CPU per pipelined XADD, 1.0 µs per
// XADD of literals in a Lua loop, 1.75 µs when the values come from a Lua
// table).
//
// Per chunk, on the sink's own connection (plainPipe): WATCH the
// partition's mark (the marker state key), a guard script (guardLua: the
// mark's epoch is not above the chunk's, its high-water mark is the one
// the sink expects, the target keys are streams or missing; otherwise it
// changes the mark, so that EXEC applies nothing), MULTI, the XADDs of the
// events above the expected mark, HSET of the new mark and epoch, EXEC.
// The marks and the appends land together, all or nothing per chunk, with
// the same skipping on a replay as the script's.
//
// The sink expects of each mark what its transactions written so far leave
// if they all apply (plainPipe.chain), so a batch's transactions are
// written while the batch before is still applied: up to two batches are
// in flight on the connection, one reader goroutine reading the replies in
// order. A transaction after one that applied nothing applies nothing
// either (its guard finds another mark), so a partition's writes stay in
// order; the batch that failed is retried on its own once the batch before
// it has landed, reading the marks again, and a batch after a batch that
// failed for good applies nothing. A target key whose type another client
// changes between the guard and EXEC would make its XADD fail inside EXEC
// after the mark was raised: those events are not written again, and the
// sink stops with a permanent error that counts them.

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

// unpackStrings reads the flat array of strings a packer wrote, appended
// to out (slices of b).
func unpackStrings(b []byte, out [][]byte) ([][]byte, error) {
	if len(b) < 5 || b[0] != 0xdd {
		return nil, errors.New("targets: bad chunk encoding")
	}
	n := binary.BigEndian.Uint32(b[1:5])
	out = slices.Grow(out, int(n))
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
	vals, err := unpackStrings(c.p.finish(), c.vals[:0])
	if err != nil {
		return plainChunk{}, err
	}
	c.vals = vals
	stride := strideOf(c.sh.commands, c.script.withID)
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

// respSeg is a part of a command's RESP encoding: literal arguments
// already encoded (raw, with the array header in the first), or the
// event's value or ID.
type respSeg struct {
	raw   []byte
	value bool
	id    bool
}

// resp returns the RESP templates of the shape's commands, made once.
func (sh *shape) resp() [][]respSeg {
	if sh.respTpl != nil {
		return sh.respTpl
	}
	for _, cmd := range sh.commands {
		var tpl []respSeg
		raw := fmt.Appendf(nil, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			if a.value || a.id {
				if len(raw) > 0 {
					tpl = append(tpl, respSeg{raw: raw})
					raw = nil
				}
				tpl = append(tpl, respSeg{value: a.value, id: a.id})
				continue
			}
			raw = fmt.Appendf(raw, "$%d\r\n%s\r\n", len(a.lit), a.lit)
		}
		if len(raw) > 0 {
			tpl = append(tpl, respSeg{raw: raw})
		}
		sh.respTpl = append(sh.respTpl, tpl)
	}
	return sh.respTpl
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

// plainPipe is the sink's own connection for plain transactions: writes
// go under mu, each batch's replies are read in order by the connection's
// reader goroutine.
type plainPipe struct {
	opt *redis.Options
	mu  sync.Mutex
	rc  *respConn
	// jobs feeds the connection's reader, in the order the jobs were
	// written; nil when there is no connection.
	jobs chan *plainJob
	// chain holds the mark of each partition once every transaction
	// written applies; marks those known applied; broken the partitions
	// with a transaction that did not apply, whose chain is wrong until a
	// send on its own reads their marks again. Under mu.
	chain, marks map[string]string
	broken       map[string]bool
	// gen counts the failures and the batches sent afresh: a pipelined
	// batch writes only if it has not moved since the batch before wrote.
	gen uint64
}

// plainJob is what one write on the connection awaits: the replies of its
// HGETs (reads) or of its transactions.
type plainJob struct {
	reads []string    // HGET base w, each
	marks []string    // their replies
	txns  []*plainTxn // or transactions
	err   error       // the connection broke (or a read failed)
	done  chan struct{}
}

// plainTxn is the transaction of consecutive chunks of one partition.
type plainTxn struct {
	c                *chunk   // the first: its partition's mark and origin
	cs               []*chunk // all
	written, skipped int64
	mark             string // the new high-water mark; "" if nothing is written
	queued           int
	// the outcome, set by the reader
	applied  bool
	guard    error // the guard's error reply
	queueErr error // a command refused when queued (EXEC then applied nothing)
	execErr  error // commands that failed inside EXEC
}

// plainWait bounds each write of a batch and the reading of its replies.
const plainWait = 30 * time.Second

// errBatchBefore is a batch that was not sent because the one before it
// failed: it is pending again behind it.
var errBatchBefore = errors.New("not sent: the batch before it failed")

// sendPlain sends chunks (allPlain). Pipelined (prev is the batch in
// flight before, whose transactions it expects to apply), then, if that
// did not apply everything, on its own once prev landed (and only if prev
// succeeded), reading the marks again, as often as a mark changes under
// it.
func (s *RedisSink) sendPlain(ctx context.Context, chunks []*chunk, prev, self *flight) error {
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
	if len(todo) == 0 {
		return nil
	}
	p := s.pipe
	if prev != nil {
		// The batch before writes first: its transactions are those this
		// one's expect to apply before. If it ended without writing them
		// (it failed), this one must not write either.
		select {
		case <-prev.wrote:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-prev.done:
			if prev.err != nil {
				return Permanent(errBatchBefore)
			}
		default:
		}
	}
	err := s.plainAttempt(ctx, todo, false, prev, self)
	if err == nil || IsPermanent(err) {
		// A permanent failure (a zombie, a key of another type, writes
		// that failed inside EXEC) is reported, not sent afresh: the marks
		// read again would hide it.
		return err
	}
	if prev != nil {
		select {
		case <-prev.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if prev.err != nil {
			return Permanent(errBatchBefore)
		}
	}
	for attempt := 0; ; attempt++ {
		todo = slices.DeleteFunc(todo, func(pc plainChunk) bool { return pc.c.done })
		if len(todo) == 0 {
			return nil
		}
		p.mu.Lock()
		for _, pc := range todo {
			delete(p.marks, pc.c.base) // read them again
		}
		p.mu.Unlock()
		err = s.plainAttempt(ctx, todo, true, nil, self)
		if err == nil || !errors.Is(err, errTxAborted) || attempt >= 8 {
			return err
		}
	}
}

// errTxAborted is a transaction that applied nothing because a partition's
// mark was not the one the sink expected.
var errTxAborted = errors.New("transaction aborted: a partition's mark was not the one expected")

// plainAttempt writes todo's transactions and waits for their replies. The
// marks it expects are the chain's (pipelined), or, fresh, those read now.
//
// Pipelined, it writes only if nothing failed since the batch before (prev,
// still in flight) wrote (plainPipe.gen): its transactions expect the marks
// prev's leave, which a failure, or a batch sent afresh after it, makes
// wrong; it then waits for prev to land and is sent afresh.
func (s *RedisSink) plainAttempt(ctx context.Context, todo []plainChunk, fresh bool, prev, self *flight) error {
	p := s.pipe
	var unknown []string
	p.mu.Lock()
	for _, pc := range todo {
		if _, ok := p.marks[pc.c.base]; !ok && !slices.Contains(unknown, pc.c.base) {
			unknown = append(unknown, pc.c.base)
		}
	}
	p.mu.Unlock()
	if len(unknown) > 0 {
		marks, err := s.readMarks(ctx, unknown, todo)
		if err != nil {
			return err
		}
		p.mu.Lock()
		for i, b := range unknown {
			p.marks[b] = marks[i]
			if _, ok := p.chain[b]; !ok { // fresh, it is set below anyway
				p.chain[b] = marks[i]
			}
		}
		p.mu.Unlock()
	}
	p.mu.Lock()
	if fresh {
		p.gen++ // what was written before expected other marks
	} else if prev != nil {
		select {
		case <-prev.done:
		default:
			if prev.wroteGen != p.gen {
				p.mu.Unlock()
				return errTxAborted
			}
		}
	}
	for _, pc := range todo {
		switch b := pc.c.base; {
		case fresh:
			p.chain[b] = p.marks[b]
			delete(p.broken, b)
		case p.broken[b]:
			// A transaction of this partition did not apply: what follows
			// waits for the batch before to land, then reads the marks.
			p.mu.Unlock()
			return errTxAborted
		}
	}
	j, err := s.writeTxns(ctx, todo)
	if self != nil && err == nil {
		self.wroteGen = p.gen
	}
	p.mu.Unlock()
	if err != nil {
		s.unknown(todo)
		return fmt.Errorf("redis sink %s: %w", s.cfg.Name, err)
	}
	self.written()
	select {
	case <-j.done:
	case <-ctx.Done():
		s.unknown(todo)
		return ctx.Err()
	}
	if j.err != nil {
		s.unknown(todo)
		return fmt.Errorf("redis sink %s: %w", s.cfg.Name, j.err)
	}
	return s.settlePlain(j)
}

// unknown forgets the marks of todo's partitions, whose transactions were
// written but not settled (the connection broke, or the wait was given
// up): whether they applied is read again before any is sent.
func (s *RedisSink) unknown(todo []plainChunk) {
	p := s.pipe
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	for _, pc := range todo {
		delete(p.marks, pc.c.base)
		p.broken[pc.c.base] = true
	}
}

// connected returns the pipe's connection, opening it (and its reader) if
// there is none. Under p.mu.
func (s *RedisSink) connected(ctx context.Context) (*respConn, error) {
	p := s.pipe
	if p.jobs != nil {
		_ = p.rc.c.SetWriteDeadline(time.Now().Add(plainWait))
		return p.rc, nil
	}
	rc := &respConn{opt: p.opt}
	if err := rc.connect(ctx); err != nil {
		rc.close()
		return nil, err
	}
	// The guard must be able to run: a transaction whose guard is refused
	// applies unchecked (an ACL without EVAL is refused here, at once).
	if err := rc.probe(ctx); err != nil {
		rc.close()
		var re respError
		if errors.As(err, &re) {
			return nil, Permanent(fmt.Errorf("the guard script cannot run on this connection (%w): the sink's writes need EVAL", err))
		}
		return nil, err
	}
	_ = rc.c.SetDeadline(time.Time{}) // each read and write sets its own (plainWait)
	jobs := make(chan *plainJob, 16)
	p.rc, p.jobs = rc, jobs
	_ = rc.c.SetWriteDeadline(time.Now().Add(plainWait))
	go s.readJobs(rc, jobs)
	return rc, nil
}

// broke drops the pipe's connection after an I/O error: the jobs queued
// on it fail (their reader fails them), the next write opens another.
// Under p.mu.
func (p *plainPipe) broke(jobs chan *plainJob) {
	if p.jobs == jobs && jobs != nil {
		close(jobs)
		p.jobs = nil
		p.rc.close()
	}
}

// readJobs reads the replies of the jobs written on rc, in order, until
// jobs is closed; after an I/O error it fails the rest.
func (s *RedisSink) readJobs(rc *respConn, jobs chan *plainJob) {
	var broken error
	for j := range jobs {
		if broken == nil {
			_ = rc.c.SetReadDeadline(time.Now().Add(plainWait))
			broken = rc.readJob(j)
			if broken != nil {
				s.pipe.mu.Lock()
				s.pipe.broke(jobs)
				s.pipe.mu.Unlock()
			}
		}
		if broken != nil && j.err == nil {
			j.err = broken
		}
		close(j.done)
	}
}

// readMarks reads the marks of bases. A partition with no checkpoint whose
// mark is set is logged: it starts over (a crash before its first
// checkpoint, or a checkpoint deleted to read its input again), and what it
// emits up to the mark is skipped.
func (s *RedisSink) readMarks(ctx context.Context, bases []string, todo []plainChunk) ([]string, error) {
	p := s.pipe
	p.mu.Lock()
	rc, err := s.connected(ctx)
	if err != nil {
		p.mu.Unlock()
		return nil, fmt.Errorf("redis sink %s: %w", s.cfg.Name, err)
	}
	j := &plainJob{reads: bases, done: make(chan struct{})}
	for _, b := range bases {
		rc.command("HGET", b, "w")
	}
	err = rc.w.Flush()
	if err == nil {
		p.jobs <- j
	} else {
		p.broke(p.jobs)
	}
	p.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("redis sink %s: %w", s.cfg.Name, err)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if j.err != nil {
		var re respError
		if errors.As(j.err, &re) { // a mark of another type: not a hiccup
			return nil, Permanent(fmt.Errorf("redis sink %s: read the marks %v: %w", s.cfg.Name, bases, j.err))
		}
		return nil, fmt.Errorf("redis sink %s: %w", s.cfg.Name, j.err)
	}
	for i, b := range bases {
		w := j.marks[i]
		for _, pc := range todo {
			if o := pc.c.origin; pc.c.base == b && w != "" && o.Gen < 0 {
				q, _ := strconv.ParseInt(w[:min(16, len(w))], 10, 64)
				s.cfg.Logger.Warn("a partition with no checkpoint has outputs marked written: those of its inputs up to the mark are skipped as written (after a crash before its first checkpoint, as they should; to write them again after deleting its checkpoint, delete the mark too)",
					"sink", s.cfg.Name, "partition", o.Key, "mark", b, "input", q)
				break
			}
		}
	}
	return j.marks, nil
}

// plainTxnMax is the most events of one partition's consecutive chunks
// that go in one transaction (one guard, one mark).
const plainTxnMax = 4096

// writeTxns writes a transaction per run of chunks of one partition in
// todo (up to plainTxnMax events) with events above the mark the chain
// expects, raising the chain, and queues the job of their replies. Under
// p.mu.
func (s *RedisSink) writeTxns(ctx context.Context, todo []plainChunk) (*plainJob, error) {
	p := s.pipe
	rc, err := s.connected(ctx)
	if err != nil {
		return nil, err
	}
	j := &plainJob{done: make(chan struct{})}
	var keys []string
	for i := 0; i < len(todo); {
		c := todo[i].c
		k, n := i+1, c.events
		for k < len(todo) && todo[k].c.base == c.base && n+todo[k].c.events <= plainTxnMax {
			n += todo[k].c.events
			k++
		}
		group := todo[i:k]
		i = k
		t := &plainTxn{c: c}
		top := p.chain[c.base]
		keys = keys[:0]
		some := false
		for _, pc := range group {
			t.cs = append(t.cs, pc.c)
			for e := range pc.c.events {
				key, _, vals := pc.event(e)
				if !above(key, top) {
					t.skipped++
					continue
				}
				some = true
				for _, cmd := range pc.c.sh.commands {
					if k := keyOf(cmd, vals); !slices.Contains(keys, k) {
						keys = append(keys, k)
					}
					vals = vals[valuesOf(cmd):]
				}
			}
		}
		if some {
			s.writeTxn(group, t, top, keys)
			p.chain[c.base] = t.mark
			if err := rc.w.Flush(); err != nil {
				p.broke(p.jobs)
				return nil, err
			}
		}
		j.txns = append(j.txns, t)
	}
	p.jobs <- j
	return j, nil
}

// writeTxn writes t's transaction of the events of group (chunks of one
// partition) above top.
func (s *RedisSink) writeTxn(group []plainChunk, t *plainTxn, top string, keys []string) {
	rc, c := s.pipe.rc, t.c
	rc.command("WATCH", c.base)
	rc.arrayHeader(7 + 2*len(keys))
	rc.bulkString("EVAL")
	rc.bulkString(guardLua)
	rc.bulkString("1")
	rc.bulkString(c.base)
	rc.bulkString(strconv.FormatInt(c.origin.Epoch, 10))
	rc.bulkString(top)
	rc.bulkString(strconv.FormatInt(OriginKeep.Milliseconds(), 10))
	for _, k := range keys {
		rc.bulkString(k)
		rc.bulkString("stream")
	}
	rc.command("MULTI")
	var last []byte
	for _, pc := range group {
		tpls := pc.c.sh.resp()
		for e := range pc.c.events {
			key, id, vals := pc.event(e)
			if !above(key, top) {
				continue
			}
			for _, tpl := range tpls {
				for _, seg := range tpl {
					switch {
					case seg.id:
						rc.bulk(id)
					case seg.value:
						rc.bulk(vals[0])
						vals = vals[1:]
					default:
						rc.w.Write(seg.raw)
					}
				}
				t.queued++
			}
			t.written++
			last = key
		}
	}
	t.mark = string(last)
	rc.command("HSET", c.base, "e", strconv.FormatInt(c.origin.Epoch, 10), "w", t.mark)
	rc.command("PEXPIRE", c.base, strconv.FormatInt(OriginKeep.Milliseconds(), 10))
	rc.command("EXEC")
	t.queued += 2
}

// readJob reads a job's replies; it returns an I/O error (the connection
// is then unusable).
func (rc *respConn) readJob(j *plainJob) error {
	for range j.reads {
		v, err := rc.reply()
		var re respError
		switch {
		case errors.As(err, &re):
			j.err = cmp.Or(j.err, err)
		case err != nil:
			return err
		}
		w, _ := v.(string)
		j.marks = append(j.marks, w)
	}
	var re respError
	for _, t := range j.txns {
		if t.mark == "" {
			continue
		}
		// WATCH, the guard, MULTI, QUEUED each, EXEC.
		if _, err := rc.read(false); err != nil && !errors.As(err, &re) {
			return err
		}
		if _, err := rc.reply(); err != nil {
			if !errors.As(err, &re) {
				return err
			}
			t.guard = err
		}
		for range 1 + t.queued {
			if _, err := rc.read(false); err != nil {
				if !errors.As(err, &re) {
					return err
				}
				t.queueErr = cmp.Or(t.queueErr, err)
			}
		}
		v, err := rc.read(false)
		switch {
		case err != nil && !errors.As(err, &re):
			return err
		case err != nil && t.queueErr != nil: // EXECABORT
		case err != nil:
			t.applied, t.execErr = true, err
		case v != nil:
			t.applied = true
		}
	}
	return nil
}

// settled marks t's chunks done.
func (t *plainTxn) settled() {
	for _, c := range t.cs {
		c.done = true
	}
}

// settlePlain settles a job's chunks: those whose transaction applied (or
// that had nothing to write) are done. It returns the error of the first
// that did not (errTxAborted when its mark was not the one expected); a
// transaction of the same partition after it applied nothing either.
func (s *RedisSink) settlePlain(j *plainJob) error {
	p := s.pipe
	p.mu.Lock()
	defer p.mu.Unlock()
	var first error
	for _, t := range j.txns {
		c := t.c
		switch {
		case t.mark == "": // all written already
			if !p.broken[c.base] {
				t.settled()
				s.stats.duplicates.Add(t.skipped)
			}
			continue
		case t.applied && t.guard != nil:
			// The guard did not run (a command refused: an ACL, a busy
			// script): EXEC applied what no check allowed.
			delete(p.marks, c.base)
			p.broken[c.base] = true
			p.gen++
			first = cmp.Or(first, Permanent(fmt.Errorf("redis sink %s: the guard of a transaction of partition %s could not run (%v), and its %d writes were applied without its checks (epoch, mark, key types): stopping", s.cfg.Name, c.origin.Key, t.guard, t.written)))
			continue
		case t.applied:
			p.marks[c.base] = t.mark
			if t.execErr != nil {
				// The mark was raised past events whose command failed (a
				// key's type changed since the guard read it).
				p.broken[c.base] = true
				p.gen++
				first = cmp.Or(first, Permanent(fmt.Errorf("redis sink %s: %d events written, but commands of some failed (those events are not written again): %w", s.cfg.Name, t.written, t.execErr)))
				continue
			}
			t.settled()
			s.stats.written.Add(t.written)
			s.stats.duplicates.Add(t.skipped)
			continue
		}
		// Not applied: what follows of the partition expected it to, and
		// is sent again.
		delete(p.marks, c.base)
		p.broken[c.base] = true
		p.gen++
		msg := fmt.Sprint(t.guard)
		var err error
		switch {
		case t.queueErr != nil:
			err = fmt.Errorf("redis sink %s: %w", s.cfg.Name, classify(fmt.Errorf("transaction refused: %w", t.queueErr)))
		case strings.HasPrefix(msg, "RSABORT FENCED "):
			o := c.origin
			err = Permanent(fmt.Errorf("redis sink %s: %w: partition %s was assigned to another consumer since this one took it (epoch %s of %s, this consumer's %d): this consumer is a zombie, its writes are refused",
				s.cfg.Name, ErrFenced, o.Key, strings.TrimPrefix(msg, "RSABORT FENCED "), c.base, o.Epoch))
		case strings.HasPrefix(msg, "RSABORT MARK "):
			err = Permanent(fmt.Errorf("redis sink %s: the mark %s of partition %s cannot be read (%s): nothing of this chunk was written", s.cfg.Name, c.base, c.origin.Key, strings.TrimPrefix(msg, "RSABORT MARK ")))
		case strings.HasPrefix(msg, "RSABORT WRONGTYPE "):
			err = Permanent(fmt.Errorf("redis sink %s: WRONGTYPE: %s: nothing of this chunk was written", s.cfg.Name, strings.TrimPrefix(msg, "RSABORT WRONGTYPE ")))
		case t.guard != nil && !strings.HasPrefix(msg, "RSABORT"):
			err = fmt.Errorf("redis sink %s: the guard of a transaction failed: %w", s.cfg.Name, t.guard)
		default:
			err = errTxAborted
		}
		first = cmp.Or(first, err)
	}
	return first
}

// guardLua checks, between a WATCH of the mark KEYS[1] and the MULTI of a
// transaction, that the mark's epoch is at most ARGV[1] and its high-water
// mark ARGV[2] (what the sink knows it wrote), and that each key ARGV[4],
// ARGV[6]... is of type ARGV[5], ARGV[7]... or missing. Otherwise it
// changes the mark (x; or, if the mark is not a hash, its expiry to ARGV[3]
// ms: a write that works on any type), which makes the EXEC apply nothing,
// and says why. A guard that could not run at all (a command refused) does
// not abort: the sink then reports the transaction as applied unchecked.
const guardLua = `
local function abort(why)
  local r = redis.pcall('HINCRBY', KEYS[1], 'x', 1)
  if type(r) == 'table' and r.err then redis.pcall('PEXPIRE', KEYS[1], ARGV[3]) end
  return redis.error_reply('RSABORT ' .. why)
end
local st = redis.pcall('HMGET', KEYS[1], 'e', 'w')
if type(st) ~= 'table' or st.err then return abort('MARK ' .. tostring(st.err)) end
if tonumber(st[1] or '0') > tonumber(ARGV[1]) then return abort('FENCED ' .. st[1]) end
if (st[2] or '') ~= ARGV[2] then return abort('MOVED') end
for i = 4, #ARGV, 2 do
  local t = redis.pcall('TYPE', ARGV[i])
  if type(t) == 'table' then t = t.ok or t.err end
  if t ~= 'none' and t ~= ARGV[i + 1] then return abort('WRONGTYPE ' .. ARGV[i] .. ' holds a ' .. tostring(t) .. ', not a ' .. ARGV[i + 1]) end
end
return 0
`
