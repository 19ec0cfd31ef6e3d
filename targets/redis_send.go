package targets

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
)

// ErrClosed is returned by a sink's Write after Close.
var ErrClosed = errors.New("targets: sink closed")

// ErrFenced is returned when a write of a checkpointed partition's events
// is refused: a consumer with a later epoch of the partition wrote to the
// same slot (this one is a zombie, see stream.Origin).
var ErrFenced = errors.New("fenced")

// OriginKeep is how long the markers of a checkpointed partition's
// generation, and its state, live after the last write to them: a fallback
// for a partition that is never written again (its markers otherwise go
// when a later checkpoint is saved).
const OriginKeep = 30 * 24 * time.Hour

// Write encodes events into the pending batch and starts sending it when
// the batch policy says so. One batch is in flight at a time: Redis applies
// it while Write encodes the next, and the next is started only once it is
// done, so batches reach Redis in order. A batch that failed after its
// retries is reported by the next Write that fills a batch, or by Flush,
// and its events are pending again. An event that cannot be encoded (a
// template field missing) is a PermanentError naming it; the events before
// it stay pending.
func (s *RedisSink) Write(ctx context.Context, events []stream.Event) error {
	if s.closed {
		return ErrClosed
	}
	for i := 0; i < len(events); {
		// The outputs of one input in input order (stream.Event.Seq) go in
		// the order of their sequence keys.
		j := i + 1
		if ev := &events[i]; seqOf(ev) > 0 {
			for j < len(events) && events[j].Origin == ev.Origin && events[j].Seq == ev.Seq {
				j++
			}
		}
		run := events[i:j]
		if len(run) > 1 {
			run = sortedRun(run)
		}
		for k := range run {
			n, err := s.encode(&run[k])
			if err != nil {
				return Permanent(fmt.Errorf("targets: redis sink %s: %w", s.cfg.Name, err))
			}
			if s.batch.Add(n) {
				if err := s.launch(ctx); err != nil {
					return err
				}
			}
		}
		i = j
	}
	if s.batch.Due() {
		return s.launch(ctx)
	}
	return nil
}

// flight is a batch being sent in the background.
type flight struct {
	chunks []*chunk
	events int // not yet applied when it started
	plain  bool
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	// wrote is closed once the batch's first transactions are written (or
	// it gave up before): the next batch writes only after it.
	wrote     chan struct{}
	wroteOnce sync.Once
	wroteGen  uint64 // plainPipe.gen when it last wrote (under its mu)
}

// written closes f.wrote (f may be nil: a batch sent by Flush).
func (f *flight) written() {
	if f != nil {
		f.wroteOnce.Do(func() { close(f.wrote) })
	}
}

// launch starts sending the pending batch. One batch is in flight at a
// time, or two of plain transactions (plain.go: the second is written
// while the first is applied, on the same connection); launch first waits
// for those that must land before. The send outlives the Write that
// started it: it runs under ctx's values but not its cancellation (a caller
// may cancel a per-call context as soon as Write returns); Flush and Close
// cancel it when their own context ends.
func (s *RedisSink) launch(ctx context.Context) error {
	plain := s.pipe != nil && allPlain(s.chunks)
	for len(s.flights) > 0 {
		if plain && len(s.flights) < 2 && s.flights[len(s.flights)-1].plain {
			break
		}
		if err := s.land(ctx); err != nil {
			return fmt.Errorf("targets: %w", err)
		}
	}
	n := s.pending()
	if n == 0 {
		return nil
	}
	plain = s.pipe != nil && allPlain(s.chunks) // a landed batch that failed is pending again
	var prev *flight
	if len(s.flights) > 0 {
		prev = s.flights[len(s.flights)-1]
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &flight{chunks: s.chunks, events: n, plain: plain, cancel: cancel, done: make(chan struct{}), wrote: make(chan struct{})}
	s.chunks = make([]*chunk, 0, cap(f.chunks))
	s.cluster.reset()
	s.batch.Reset()
	s.flights = append(s.flights, f)
	go func() {
		defer close(f.done)
		defer f.written()
		defer cancel()
		f.err = s.sendRetrying(fctx, f.chunks, prev, f)
	}()
	return nil
}

// land waits for the oldest batch in flight, or until ctx ends, which
// cancels it. If it failed, its chunks not applied are pending again, with
// those of the batch after it (landed too: it applied nothing that follows
// what the failed one did not), before those filled since, and its error
// is returned.
func (s *RedisSink) land(ctx context.Context) error {
	if len(s.flights) == 0 {
		return nil
	}
	f := s.flights[0]
	err := s.wait(ctx, f)
	s.flights = s.flights[1:]
	if err != nil {
		chunks := f.chunks
		for _, g := range s.flights {
			_ = s.wait(ctx, g)
			chunks = append(chunks, g.chunks...)
		}
		s.flights = nil
		s.chunks = append(chunks, s.chunks...)
		return err
	}
	s.stats.batches.Add(1)
	s.spare = append(s.spare, f.chunks...)
	return nil
}

// wait waits for f, or until ctx ends, which cancels it, and returns its
// error. (f.err is f's goroutine's to write: the batch after reads it.)
func (s *RedisSink) wait(ctx context.Context, f *flight) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		f.cancel()
		<-f.done // the send stops at its next retry wait or network call
		if f.err != nil {
			return fmt.Errorf("%w (waiting for the batch in flight: %v)", ctx.Err(), f.err)
		}
		return nil
	}
}

// pending counts the events of the pending chunks not yet applied.
func (s *RedisSink) pending() int { return unapplied(s.chunks) }

// unapplied counts the events of chunks not yet applied.
func unapplied(chunks []*chunk) int {
	n := 0
	for _, c := range chunks {
		if !c.done {
			n += c.count()
		}
	}
	return n
}

// encode appends ev to the filling chunk and returns its encoded size.
func (s *RedisSink) encode(ev *stream.Event) (int, error) {
	if ev.ID == "" && !s.cfg.AllowNoID {
		return 0, fmt.Errorf("event %s has no ID (idempotent writes need one; see Config.AllowNoID)", ev.Describe())
	}
	sh := s.shapeOf(ev.Schema)
	if sh.err != nil {
		return 0, fmt.Errorf("event %s: %w", ev.Describe(), sh.err)
	}
	key, seq := seqKey(ev)
	if s.cluster != nil {
		return s.encodeSlots(sh, ev, &key, seq)
	}
	c := s.filling(sh, ev, seq)
	if seq {
		if err := s.checkSeq(c.base, &key, ev); err != nil {
			return 0, err
		}
	}
	at, n := c.p.mark()
	c.head(ev, &key, seq)
	for _, w := range s.writers {
		if err := w.encode(&c.p, ev); err != nil {
			c.p.rewind(at, n)
			return 0, err
		}
	}
	if seq {
		s.seqLast[c.base] = key
	}
	c.events++
	c.ids = append(c.ids, ev.ID)
	if ev.ID != "" {
		c.seen[ev.ID] = struct{}{}
	}
	return len(c.p.buf) - at, nil
}

// filling returns the chunk to encode ev, of shape sh, into; seq: ev goes
// by its sequence key (seqKey).
func (s *RedisSink) filling(sh *shape, ev *stream.Event, seq bool) *chunk {
	// A chunk already applied (in a flush that failed on another chunk) is
	// never reused: it will not be sent again. An ID the chunk holds
	// already starts a new one, whose script finds the first one's marker.
	// Schemas of the same layout share a script, and so a chunk; a chunk
	// holds the events of one origin (partition and generation).
	if k := len(s.chunks); k > 0 {
		c := s.chunks[k-1]
		_, dup := c.seen[ev.ID]
		if c.events < s.cfg.ChunkSize && !c.done && c.seq == seq && c.script == sh.scriptFor(seq) && c.origin == ev.Origin && !dup {
			return c
		}
	}
	c := s.newChunk(sh.scriptFor(seq))
	c.seq = seq
	if seq {
		c.sh = sh
	}
	s.setOrigin(c, ev.Origin, s.marker)
	return c
}

// head encodes what a chunk holds of ev before its writes' values: its
// sequence key if seq, else its ID; then its ID if the script wants it.
func (c *chunk) head(ev *stream.Event, key *seqKeyT, seq bool) {
	if seq {
		c.p.bytes(key[:])
	} else {
		c.p.str(ev.ID)
	}
	if c.script.withID {
		c.p.str(ev.ID)
	}
}

// scriptFor returns the shape's script, of events in input order if seq.
func (sh *shape) scriptFor(seq bool) *script {
	if seq {
		return sh.seq
	}
	return sh.script
}

// seqOf returns the Seq ev is written by (stream.Event.Seq): 0 unless it
// comes from a checkpointed partition, with an ID, and a Seq the sequence
// key holds.
func seqOf(ev *stream.Event) int64 {
	if ev.Origin == nil || ev.ID == "" || ev.Seq <= 0 || ev.Seq >= 1e16 {
		return 0
	}
	return ev.Seq
}

// seqKey returns ev's sequence key, and false if it has none (seqOf): its
// Seq in 16 digits, then in 10 digits the FNV-1a hash of its ID, which
// orders the outputs of one input whichever the rules that fired, so that
// a replay that fires a different subset still finds each output's place.
func seqKey(ev *stream.Event) (k seqKeyT, ok bool) {
	q := seqOf(ev)
	if q == 0 {
		return k, false
	}
	putDigits(k[:16], uint64(q))
	putDigits(k[16:], uint64(idHash(ev.ID)))
	return k, true
}

// seqKeyT is a sequence key (seqKey).
type seqKeyT [26]byte

// putDigits writes v in decimal into b, zero-padded to its length.
func putDigits(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// idHash is the 32-bit FNV-1a hash of id.
func idHash(id string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return h
}

// sortedRun returns the outputs of one input (equal Origin and Seq) in the
// order of their sequence keys: run itself if they are, else a copy.
func sortedRun(run []stream.Event) []stream.Event {
	if slices.IsSortedFunc(run, cmpIDHash) {
		return run
	}
	out := slices.Clone(run)
	slices.SortStableFunc(out, cmpIDHash)
	return out
}

func cmpIDHash(a, b stream.Event) int { return cmp.Compare(idHash(a.ID), idHash(b.ID)) }

// checkSeq refuses an event whose sequence key is not above the last one
// encoded for the same marker state base: the high-water mark would skip
// it. Operators that say they emit in arrival order (stream.ArrivalOrdered)
// never cause it; two outputs of one input with IDs of equal hash can.
func (s *RedisSink) checkSeq(base string, key *seqKeyT, ev *stream.Event) error {
	if last, ok := s.seqLast[base]; ok && bytes.Compare(key[:], last[:]) <= 0 {
		return fmt.Errorf("event %s: its input order (Seq %d) is not after the last event written for partition %s: it would be skipped as written already", ev.Describe(), ev.Seq, ev.Origin.Key)
	}
	return nil
}

// setOrigin makes c a chunk of origin o, its markers' state under the
// marker base key base.
func (s *RedisSink) setOrigin(c *chunk, o *stream.Origin, base string) {
	c.origin, c.base = o, ""
	if o != nil {
		c.base = base + "p:" + o.Key
		s.origins[c.base] = o
	}
}

// newChunk appends an empty chunk for sc to the pending ones.
func (s *RedisSink) newChunk(sc *script) *chunk {
	var c *chunk
	if k := len(s.spare); k > 0 {
		c, s.spare = s.spare[k-1], s.spare[:k-1]
	} else {
		c = &chunk{seen: map[string]struct{}{}}
	}
	c.p.reset()
	c.script = sc
	c.events, c.done = 0, false
	clear(c.ids)
	c.ids = c.ids[:0]
	clear(c.seen)
	c.slot = nil
	c.origin, c.base, c.seq, c.sh = nil, "", false, nil
	s.chunks = append(s.chunks, c)
	return c
}

// Flush waits for the batch in flight and sends every pending event,
// retrying with backoff until it succeeds, fails permanently, the attempts
// run out or ctx ends. On failure the events stay pending. A batch in
// flight that failed is sent again here, under ctx.
func (s *RedisSink) Flush(ctx context.Context) error {
	for len(s.flights) > 0 {
		if err := s.land(ctx); err != nil && ctx.Err() != nil {
			return fmt.Errorf("targets: %w", err)
		} // else its chunks, if it failed, are pending again and sent below
	}
	if s.pending() > 0 {
		if err := s.sendRetrying(ctx, s.chunks, nil, nil); err != nil {
			return fmt.Errorf("targets: %w", err)
		}
		s.stats.batches.Add(1)
	}
	s.spare = append(s.spare, s.chunks...)
	clear(s.chunks)
	s.chunks = s.chunks[:0]
	s.cluster.reset()
	s.batch.Reset()
	return nil
}

func (s *RedisSink) sendRetrying(ctx context.Context, chunks []*chunk, prev, self *flight) error {
	return s.cfg.Retry.do(ctx, s.cfg.Logger, "redis sink "+s.cfg.Name, func(ctx context.Context) error {
		err := s.send(ctx, chunks, prev, self)
		if err != nil {
			s.stats.failures.Add(1)
		}
		return err
	})
}

// send pipelines one script call per chunk not yet done. A script is
// loaded before its first use and again after NOSCRIPT (Redis restarted or
// flushed its scripts); the chunks that met NOSCRIPT are then sent again.
// A batch of several scripts loads them all at the head of its pipeline:
// otherwise, after a restart, the chunks of a script loaded meanwhile would
// be applied before earlier chunks of a script found missing. On a cluster
// a pipelined SCRIPT LOAD reaches one node only, so the scripts are loaded
// on every master (ClusterClient.ScriptLoad) before the pipeline instead: a
// master that restarts has lost them all, and its chunks all meet NOSCRIPT;
// only a master losing its scripts between that load and the pipeline (a
// SCRIPT FLUSH, a restart within milliseconds) could apply a slot's later
// chunks before its earlier ones.
func (s *RedisSink) send(ctx context.Context, chunks []*chunk, prev, self *flight) error {
	if s.pipe != nil && allPlain(chunks) {
		return s.sendPlain(ctx, chunks, prev, self)
	}
	for range 2 {
		var scripts []*script
		for _, c := range chunks {
			if sc := c.script; !c.done && c.events > 0 && !slices.Contains(scripts, sc) {
				scripts = append(scripts, sc)
			}
		}
		for _, sc := range scripts {
			if !sc.loaded {
				if err := s.rdb.ScriptLoad(ctx, sc.src).Err(); err != nil {
					return classify(fmt.Errorf("load script: %w", err)) // a script that does not compile is permanent
				}
				sc.loaded = true
			}
		}
		pipe := s.rdb.Pipeline()
		if len(scripts) > 1 && s.cluster == nil { // a cluster's ScriptLoad reaches every master, a pipelined one only one
			for _, sc := range scripts {
				pipe.ScriptLoad(ctx, sc.src)
			}
		}
		var cmds []*redis.Cmd
		var sent []*chunk
		for _, c := range chunks {
			if !c.done && c.events > 0 { // a chunk can be empty after an encoding error
				var keys []string
				ttl := s.ttl
				if c.origin != nil {
					ttl = "0" // markers per generation
				}
				args := make([]any, 0, 7)
				args = append(args, c.p.finish())
				if c.slot != nil {
					keys = c.slot.keys
					args = append(args, ttl, c.slot.flags)
				} else {
					args = append(args, cmp.Or(c.base, s.marker), ttl)
				}
				if o := c.origin; o != nil {
					args = append(args, o.Epoch, o.Gen, o.Committed(), OriginKeep.Milliseconds())
				}
				cmds = append(cmds, pipe.EvalSha(ctx, c.script.sha, keys, args...))
				sent = append(sent, c)
			}
		}
		if len(cmds) == 0 {
			return nil
		}
		_, _ = pipe.Exec(ctx)
		noScript := false
		var errs []error
		for i, cmd := range cmds {
			n, err := cmd.Int64()
			switch {
			case err == nil:
				sent[i].done = true
				s.stats.written.Add(n)
				s.stats.duplicates.Add(int64(sent[i].count()) - n)
			case redis.HasErrorPrefix(err, "FENCED"):
				o := sent[i].origin
				errs = append(errs, Permanent(fmt.Errorf("%w: partition %s was assigned to another consumer since this one took it (epoch %s of %s, this consumer's %d): this consumer is a zombie, its writes are refused",
					ErrFenced, o.Key, strings.TrimPrefix(err.Error(), "FENCED "), sent[i].base, o.Epoch)))
			case redis.HasErrorPrefix(err, "NOSCRIPT"):
				noScript = true
				if sc := sent[i].script; sc.loaded {
					sc.loaded = false
					s.stats.loads.Add(1)
				}
			default:
				errs = append(errs, classify(sent[i].explain(err)))
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if !noScript {
			return nil
		}
	}
	return errors.New("script missing right after loading it")
}

// explain names the event of a script error ("RSWRITE event 3 command 1:
// WRONGTYPE ...") by its ID.
func (c *chunk) explain(err error) error {
	msg := err.Error()
	i := strings.Index(msg, "RSWRITE event ")
	if i < 0 {
		return err
	}
	rest := msg[i+len("RSWRITE event "):]
	n, _, ok := strings.Cut(rest, " ")
	k, convErr := strconv.Atoi(n)
	if !ok || convErr != nil || k < 0 || k >= len(c.ids) {
		return err
	}
	return fmt.Errorf("event %q: %w", c.ids[k], err)
}

// transientPrefixes are Redis error replies worth retrying.
var transientPrefixes = []string{"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "OOM", "NOSCRIPT"}

// classify marks Redis error replies that retrying cannot fix as permanent.
func classify(err error) error {
	var re redis.Error
	if !errors.As(err, &re) {
		return err // network errors, timeouts, a closed connection: retry
	}
	msg := strings.TrimPrefix(err.Error(), "ERR ")
	for _, p := range transientPrefixes {
		if strings.HasPrefix(msg, p) {
			return err
		}
	}
	return Permanent(err)
}

// Close sends what is pending, drops the markers of the checkpointed
// partitions' generations that their last checkpoints saved made useless
// (the runner closes sinks after its final checkpoints), and marks the sink
// closed. It does not close the Redis client, which belongs to the caller.
func (s *RedisSink) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	err := s.Flush(ctx)
	if err == nil {
		for base, o := range s.origins {
			if err = dropScript.Run(ctx, s.rdb, []string{base}, o.Committed(), o.Epoch).Err(); err != nil {
				err = fmt.Errorf("targets: redis sink %s: markers of %s: %w", s.cfg.Name, base, err)
				break
			}
		}
	}
	if p := s.pipe; p != nil {
		p.mu.Lock()
		p.broke(p.jobs)
		p.mu.Unlock()
	}
	// Closed only once everything is written: after a failure the events
	// stay pending, and Close (or Flush) can be called again.
	s.closed = err == nil
	return err
}

// dropScript drops the marker sets of the marker state KEYS[1] that no
// replay from a checkpoint at ARGV[1] or later needs, for epoch ARGV[2]
// (see liveLua).
var dropScript = redis.NewScript(liveLua + `
local live = liveGens(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[1]))
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'g', table.concat(live, ',')) end
return #live
`)
