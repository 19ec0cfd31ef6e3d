package stream

import (
	"bufio"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"
)

// SortConfig configures SortByTime.
type SortConfig struct {
	// OutOfOrderness, AllowedLateness, MaxAhead and AheadConfirm are the
	// event-time settings the input is judged by in its arrival order, as
	// the pipeline would judge it (see Config): the events they make late
	// go to the pipeline's late output, with the watermark they were found
	// behind, and only the others are sorted.
	OutOfOrderness, AllowedLateness, MaxAhead time.Duration
	AheadConfirm                              int
	// Budget bounds the bytes of encoded events held in memory: beyond it
	// a sorted run is written to a file in Dir, and the runs are merged at
	// the end. Default 256 MiB.
	Budget int64
	// Dir is where runs are spilled. Default os.TempDir().
	Dir string
	// BatchSize is the events per batch of the sorted output. Default 1024.
	BatchSize int
}

func (c *SortConfig) setDefaults() {
	if c.Budget <= 0 {
		c.Budget = 256 << 20
	}
	if c.Dir == "" {
		c.Dir = os.TempDir()
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1024
	}
	if c.MaxAhead == 0 {
		c.MaxAhead = time.Hour
	}
	if c.AheadConfirm == 0 {
		c.AheadConfirm = 8
	}
}

// SortStats are a SortedSource's counts.
type SortStats struct {
	Events     int64 // events sorted
	Late       int64 // events found late in the arrival order (not sorted)
	Runs       int   // runs spilled to disk
	SpillBytes int64 // bytes written to the runs
	// PeakBytes is the most memory the sort held: the encoded events and
	// their index.
	PeakBytes int64
}

// SortedSource reads bounded sources to their end, then emits their events
// in event-time order (ties in arrival order). See SortByTime.
type SortedSource struct {
	srcs []Source
	cfg  SortConfig
	name string

	tracker *WatermarkTracker
	cur     int // source being read (phase 1)
	reading bool

	// the run being filled
	arena []byte
	index []sortEntry
	seq   uint64

	dir  string
	runs []string

	schemas   []*Schema
	schemaIdx map[*Schema]uint64
	sources   []string
	sourceIdx map[string]uint64

	merge *mergeHeap
	stats SortStats
}

type sortEntry struct {
	time int64
	seq  uint64
	off  int // of the payload in arena
}

// sortEntrySize is what an entry of the index costs.
const sortEntrySize = 24

// SortByTime returns a source that reads srcs to their end (one after the
// other), then emits their events in event-time order, ties in the order
// they were read, each with its own position. Decisions of a pipeline over
// it are those of the arrival order with an unbounded lateness, and take
// memory for the sort only (the operators see the events in order and buffer
// nothing): for a bounded history (a file read once) whose lateness covers
// its disorder. So that nothing changes, the arrival order is first judged
// as the pipeline would judge it (cfg's event-time settings): an event that
// would be late is handed over at once as late, with the watermark it was
// found behind (Batch.Late), and is not sorted; dead letters are handed over
// as they are read. The pipeline over a SortedSource then needs no
// out-of-orderness (Config.OutOfOrderness 0, MaxAhead negative). Up to
// cfg.Budget bytes of events are held in memory; beyond, sorted runs are
// spilled to files and merged. Sources that acknowledge their batches
// (a Kafka consumer) are refused: a sort reads to the end of its input.
func SortByTime(srcs []Source, cfg SortConfig) (*SortedSource, error) {
	if len(srcs) == 0 {
		return nil, errors.New("stream: SortByTime needs a source")
	}
	cfg.setDefaults()
	s := &SortedSource{srcs: srcs, cfg: cfg, name: srcs[0].Name(), schemaIdx: map[*Schema]uint64{}, sourceIdx: map[string]uint64{},
		tracker: NewWatermarkTracker(cfg.OutOfOrderness, 0), reading: true}
	if len(srcs) > 1 {
		s.name = fmt.Sprintf("%s (+%d)", srcs[0].Name(), len(srcs)-1)
	}
	s.tracker.SetOutlierGuard(cfg.MaxAhead, cfg.AheadConfirm)
	now := time.Time{}
	for i, src := range srcs {
		if pl, ok := src.(PartitionLister); ok {
			for _, part := range pl.Partitions() {
				s.tracker.Expect(PartitionID{Source: i, Partition: part}, now)
			}
		}
	}
	return s, nil
}

// Name returns the first source's name.
func (s *SortedSource) Name() string { return s.name }

// Schema returns the sources' schema when they declare one, the same.
func (s *SortedSource) Schema() *Schema {
	var out *Schema
	for _, src := range s.srcs {
		ss, ok := src.(SchemaSource)
		if !ok {
			return nil
		}
		if out != nil && ss.Schema() != out {
			return nil
		}
		out = ss.Schema()
	}
	return out
}

// Connect connects the sources that need it.
func (s *SortedSource) Connect(ctx context.Context) error {
	for _, src := range s.srcs {
		if c, ok := src.(Connecter); ok {
			if err := c.Connect(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stats returns the sort's counts; safe only once Read returned
// ErrEndOfInput, or from the goroutine reading.
func (s *SortedSource) Stats() SortStats { return s.stats }

// Read returns, while the sources are read, their dead letters and late
// events; then the sorted events.
func (s *SortedSource) Read(ctx context.Context) (Batch, error) {
	for s.reading {
		if err := ctx.Err(); err != nil {
			return Batch{}, err
		}
		if s.cur == len(s.srcs) {
			if err := s.finishReading(); err != nil {
				return Batch{}, err
			}
			break
		}
		b, err := s.srcs[s.cur].Read(ctx)
		if errors.Is(err, ErrEndOfInput) {
			s.tracker.Finish(s.cur)
			s.cur++
			continue
		}
		if err != nil {
			return Batch{}, err
		}
		if b.Ack != nil {
			_ = b.Ack(ctx, errors.ErrUnsupported)
			return Batch{}, fmt.Errorf("source %s acknowledges its batches: it cannot be sorted (SortByTime reads to the end of its input)", s.srcs[s.cur].Name())
		}
		out, err := s.take(b)
		if err != nil {
			return Batch{}, err
		}
		if len(out.Rejects) > 0 || len(out.Late) > 0 {
			return out, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	return s.next()
}

// take judges a batch in arrival order: late events and rejects are
// returned, the others kept for sorting.
func (s *SortedSource) take(b Batch) (Batch, error) {
	out := Batch{Rejects: b.Rejects}
	allowed := int64(s.cfg.AllowedLateness)
	for i := range b.Events {
		ev := &b.Events[i]
		pid := PartitionID{Source: s.cur, Partition: ev.Pos.Partition}
		if wm := s.tracker.Watermark(); wm != MinWatermark && ev.Time < wm-allowed {
			out.Late = append(out.Late, *ev)
			out.LateWM = append(out.LateWM, wm)
			s.tracker.Observe(pid, ev.Time, time.Time{})
			s.stats.Late++
			continue
		}
		s.tracker.Observe(pid, ev.Time, time.Time{})
		if err := s.add(ev); err != nil {
			return Batch{}, err
		}
	}
	return out, nil
}

// add encodes an event into the run being filled, spilling it when the
// budget is reached.
func (s *SortedSource) add(ev *Event) error {
	if len(ev.Joins) > 0 || ev.Window != nil || ev.ID != "" || ev.Target != "" {
		return fmt.Errorf("stream: SortByTime: the event at %s carries joins, window or emission data: sort the sources' events only", ev.Pos)
	}
	s.index = append(s.index, sortEntry{time: ev.Time, seq: s.seq, off: len(s.arena)})
	s.seq++
	if cap(s.arena)-len(s.arena) < 4096 {
		// Grow by half up to the budget, not by doubling past it.
		grown := make([]byte, len(s.arena), len(s.arena)+max(1<<20, min(len(s.arena)/2, int(s.cfg.Budget))))
		copy(grown, s.arena)
		s.arena = grown
	}
	s.arena = s.encode(s.arena, ev)
	s.stats.Events++
	if held := int64(len(s.arena)) + int64(len(s.index))*sortEntrySize; held > s.stats.PeakBytes {
		s.stats.PeakBytes = held
	}
	if int64(len(s.arena))+int64(len(s.index))*sortEntrySize >= s.cfg.Budget {
		return s.spill()
	}
	return nil
}

// encode appends an event's key, position, schema and fields.
func (s *SortedSource) encode(b []byte, ev *Event) []byte {
	b = appendString(b, ev.Key)
	si, ok := s.sourceIdx[ev.Pos.Source]
	if !ok {
		si = uint64(len(s.sources))
		s.sources = append(s.sources, ev.Pos.Source)
		s.sourceIdx[ev.Pos.Source] = si
	}
	b = binary.AppendUvarint(b, si)
	b = binary.AppendVarint(b, int64(ev.Pos.Partition))
	b = binary.AppendVarint(b, ev.Pos.Offset)
	line := byte(0)
	if ev.Pos.Line {
		line = 1
	}
	b = append(b, line)
	sc, ok := s.schemaIdx[ev.Schema]
	if !ok {
		sc = uint64(len(s.schemas))
		s.schemas = append(s.schemas, ev.Schema)
		s.schemaIdx[ev.Schema] = sc
	}
	b = binary.AppendUvarint(b, sc)
	b = binary.AppendUvarint(b, uint64(len(ev.Fields)))
	for _, v := range ev.Fields {
		b = append(b, byte(v.k))
		switch v.k {
		case KindNull:
		case KindString:
			b = appendString(b, v.s)
		default:
			b = binary.AppendVarint(b, v.n)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (s *SortedSource) sortIndex() {
	slices.SortFunc(s.index, func(a, b sortEntry) int {
		return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.seq, b.seq))
	})
}

// spill writes the run being filled, sorted, to a file.
func (s *SortedSource) spill() error {
	if len(s.index) == 0 {
		return nil
	}
	if s.dir == "" {
		d, err := os.MkdirTemp(s.cfg.Dir, "rulestream-sort-*")
		if err != nil {
			return fmt.Errorf("stream: sort: %w", err)
		}
		s.dir = d
	}
	s.sortIndex()
	path := fmt.Sprintf("%s/run-%d", s.dir, len(s.runs))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("stream: sort: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	var hdr []byte
	for _, e := range s.index {
		payload := s.arena[e.off:s.payloadEnd(e.off)]
		hdr = binary.AppendVarint(hdr[:0], e.time)
		hdr = binary.AppendUvarint(hdr, e.seq)
		hdr = binary.AppendUvarint(hdr, uint64(len(payload)))
		if _, err := w.Write(hdr); err != nil {
			f.Close()
			return fmt.Errorf("stream: sort: %w", err)
		}
		if _, err := w.Write(payload); err != nil {
			f.Close()
			return fmt.Errorf("stream: sort: %w", err)
		}
		s.stats.SpillBytes += int64(len(hdr) + len(payload))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("stream: sort: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("stream: sort: %w", err)
	}
	s.runs = append(s.runs, path)
	s.stats.Runs++
	s.arena, s.index = s.arena[:0], s.index[:0]
	return nil
}

// payloadEnd returns where the payload starting at off ends in the arena.
func (s *SortedSource) payloadEnd(off int) int {
	d := sortDecoder{b: s.arena[off:]}
	d.skip()
	return off + d.i
}

// finishReading ends phase 1: the last run stays in memory when nothing
// was spilled, and the merge starts.
func (s *SortedSource) finishReading() error {
	s.reading = false
	s.merge = &mergeHeap{}
	if len(s.runs) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
		for _, path := range s.runs {
			f, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("stream: sort: %w", err)
			}
			c := &runCursor{f: f, r: bufio.NewReaderSize(f, 1<<16)}
			if err := c.advance(); err != nil {
				return err
			}
			if !c.done {
				s.merge.items = append(s.merge.items, c)
			} else {
				f.Close()
			}
		}
	} else if len(s.index) > 0 {
		s.sortIndex()
		c := &runCursor{mem: s}
		if err := c.advance(); err != nil {
			return err
		}
		s.merge.items = append(s.merge.items, c)
	}
	heap.Init(s.merge)
	return nil
}

// next decodes the next batch of sorted events.
func (s *SortedSource) next() (Batch, error) {
	if s.merge.Len() == 0 {
		s.cleanup()
		return Batch{}, ErrEndOfInput
	}
	n := 0
	// Gather the payloads of the batch first, to size its memory.
	var payloads [][]byte
	var times []int64
	var strBytes int
	for n < s.cfg.BatchSize && s.merge.Len() > 0 {
		c := s.merge.items[0]
		p := c.payload
		if c.f != nil {
			p = slices.Clone(p) // the reader's buffer moves on
		}
		payloads = append(payloads, p)
		times = append(times, c.time)
		strBytes += len(p)
		n++
		if err := c.advance(); err != nil {
			return Batch{}, err
		}
		if c.done {
			heap.Pop(s.merge)
			if c.f != nil {
				c.f.Close()
			}
		} else {
			heap.Fix(s.merge, 0)
		}
	}
	// One allocation for every string of the batch, one for its values.
	buf := make([]byte, 0, strBytes)
	for _, p := range payloads {
		buf = append(buf, p...)
	}
	all := string(buf)
	evs := make([]Event, n)
	nvals := 0
	for _, p := range payloads {
		nvals += sortFieldCount(p)
	}
	vals := make([]Value, nvals)
	at := 0
	for i, p := range payloads {
		d := sortDecoder{b: p}
		str := func(n int) string { return all[at+d.i-n : at+d.i] }
		ev := &evs[i]
		ev.Time = times[i]
		kl := int(d.uv())
		d.i += kl
		ev.Key = str(kl)
		ev.Pos.Source = s.sources[d.uv()]
		ev.Pos.Partition = int32(d.iv())
		ev.Pos.Offset = d.iv()
		ev.Pos.Line = d.byte() == 1
		ev.Schema = s.schemas[d.uv()]
		nf := int(d.uv())
		ev.Fields = vals[:nf:nf]
		vals = vals[nf:]
		for j := range nf {
			k := Kind(d.byte())
			switch k {
			case KindNull:
				ev.Fields[j] = Value{}
			case KindString:
				l := int(d.uv())
				d.i += l
				ev.Fields[j] = Value{s: str(l), k: KindString}
			default:
				ev.Fields[j] = Value{n: d.iv(), k: k}
			}
		}
		if d.err {
			return Batch{}, errors.New("stream: sort: a run is corrupt")
		}
		at += len(p)
	}
	return Batch{Events: evs}, nil
}

// Close closes the sources and removes the runs.
func (s *SortedSource) Close(ctx context.Context) error {
	var errs []error
	for _, src := range s.srcs {
		if err := src.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.cleanup()
	return errors.Join(errs...)
}

func (s *SortedSource) cleanup() {
	if s.merge != nil {
		for _, c := range s.merge.items {
			if c.f != nil {
				c.f.Close()
			}
		}
		s.merge.items = nil
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
	s.arena, s.index = nil, nil
}

// sortFieldCount reads the number of fields of a payload.
func sortFieldCount(p []byte) int {
	d := sortDecoder{b: p}
	d.i += int(d.uv())
	d.uv()
	d.iv()
	d.iv()
	d.byte()
	d.uv()
	return int(d.uv())
}

type sortDecoder struct {
	b   []byte
	i   int
	err bool
}

func (d *sortDecoder) uv() uint64 {
	v, n := binary.Uvarint(d.b[min(d.i, len(d.b)):])
	if n <= 0 {
		d.err = true
		return 0
	}
	d.i += n
	return v
}

func (d *sortDecoder) iv() int64 {
	v, n := binary.Varint(d.b[min(d.i, len(d.b)):])
	if n <= 0 {
		d.err = true
		return 0
	}
	d.i += n
	return v
}

func (d *sortDecoder) byte() byte {
	if d.i >= len(d.b) {
		d.err = true
		return 0
	}
	d.i++
	return d.b[d.i-1]
}

// skip moves past one payload.
func (d *sortDecoder) skip() {
	d.i += int(d.uv())
	d.uv()
	d.iv()
	d.iv()
	d.byte()
	d.uv()
	nf := int(d.uv())
	for range nf {
		switch Kind(d.byte()) {
		case KindNull:
		case KindString:
			d.i += int(d.uv())
		default:
			d.iv()
		}
	}
}

// runCursor reads a sorted run: a spilled file, or the run in memory.
type runCursor struct {
	f       *os.File
	r       *bufio.Reader
	mem     *SortedSource
	next    int // in mem.index
	time    int64
	seq     uint64
	payload []byte
	buf     []byte
	done    bool
}

func (c *runCursor) advance() error {
	if c.mem != nil {
		if c.next == len(c.mem.index) {
			c.done = true
			return nil
		}
		e := c.mem.index[c.next]
		c.next++
		c.time, c.seq = e.time, e.seq
		c.payload = c.mem.arena[e.off:c.mem.payloadEnd(e.off)]
		return nil
	}
	t, err := binary.ReadVarint(c.r)
	if err == io.EOF {
		c.done = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream: sort: read run: %w", err)
	}
	seq, err := binary.ReadUvarint(c.r)
	if err != nil {
		return fmt.Errorf("stream: sort: read run: %w", err)
	}
	n, err := binary.ReadUvarint(c.r)
	if err != nil || n > math.MaxInt32 {
		return fmt.Errorf("stream: sort: read run: %v", err)
	}
	if cap(c.buf) < int(n) {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		return fmt.Errorf("stream: sort: read run: %w", err)
	}
	c.time, c.seq, c.payload = t, seq, c.buf
	return nil
}

type mergeHeap struct{ items []*runCursor }

func (h *mergeHeap) Len() int { return len(h.items) }
func (h *mergeHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	return a.time < b.time || (a.time == b.time && a.seq < b.seq)
}
func (h *mergeHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap) Push(x any)    { h.items = append(h.items, x.(*runCursor)) }
func (h *mergeHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
