package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// FileConfig configures a FileSource. Zero values mean the defaults.
type FileConfig struct {
	// BatchSize is the most events per batch. Default 1024.
	BatchSize int
	// Follow keeps reading as the file grows, like tail -F: at the end it
	// waits, and reopens the path when the file is replaced or truncated.
	// A write to the file wakes the reader at once (change notification:
	// inotify on Linux, kqueue, ReadDirectoryChangesW, watching the file's
	// directory); the poll goes on as the fallback.
	Follow bool
	// PollInterval is how often a followed file is checked when no change
	// notification came: the bound on how late a change notification
	// cannot report is seen (a filesystem without inotify, such as NFS or
	// FUSE, a path whose directory was replaced, a file reached through a
	// symbolic link that changed), and the latency of every append under
	// PollOnly. Default 250ms.
	PollInterval time.Duration
	// PollOnly turns change notification off: a followed file is then only
	// checked every PollInterval. Notification also falls back to polling
	// by itself when it cannot be set up (no inotify instance left, say).
	PollOnly bool
	// Clock drives the polling. Default: the system clock.
	Clock Clock
	// ChunkSize is how many bytes are read at once. Default 256 KiB.
	ChunkSize int
	// MaxLineSize bounds a line; longer lines are rejected, their Raw
	// holding the line's first bytes (at most 4 KiB). Default 1 MiB.
	MaxLineSize int
	// Logger receives a line when a file resumed from a checkpoint
	// (Resume) is not the one checkpointed, or was truncated, and is read
	// from its beginning. Default: discard.
	Logger *slog.Logger
}

func (c *FileConfig) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 1024
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = 256 << 10
	}
	if c.MaxLineSize <= 0 {
		c.MaxLineSize = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// FileSource reads line-oriented records (CSV, JSON lines) from a file or,
// for path "-", from standard input. Each line is one record: a quoted field
// never runs across lines, so one broken line cannot swallow the next ones.
// Malformed lines become Rejects with their line number and raw bytes. A
// UTF-8 byte order mark at the start of a file is dropped. With a
// HeaderDecoder, the first line is the header; the first line of a file that
// replaced a followed one is taken as its header when it reads as a header
// for the same fields, else as a record.
type FileSource struct {
	free   chan []Event // batches' Events slices the runner is done with (RecycleEvents)
	path   string
	name   string
	dec    Decoder
	hdr    HeaderDecoder // the decoder given, when it reads a header
	schema *Schema       // the decoder's schema when the source was built
	err    error         // why the decoder is refused
	cfg    FileConfig
	rd     io.Reader
	file   *os.File
	offset int64 // bytes consumed from the current file
	start  bool  // nothing of the current file read yet (BOM check)
	// dev and ino identify the current file (fileID), for its offsets.
	dev, ino uint64
	// resumeAt is where the first open reads on from (Resume).
	resumeAt *SourceOffset

	pending []byte // bytes read but not yet a whole line
	chunk   string // whole lines being decoded
	pos     int    // cursor in chunk
	line    int64
	eof     bool
	skip    bool   // dropping the rest of an over-long line
	skipRaw []byte // the start of the over-long line
	header  bool   // the current file's header was seen (or none is needed)
	// headerRead is true once a header was read (from the first file).
	headerRead bool
	// drained: the last read from a reader that is not a regular file (a
	// pipe, stdin) took less than it could: all there was for now.
	drained bool
	// replaced: the followed path is a new file; the old one is read to its
	// end first.
	replaced bool

	watch      *watcher  // wakes wait when the file changes (nil: polling)
	ownWatch   bool      // watch is this source's own, closed with it
	wsub       *watchSub // this file's subscription to watch
	watchTried bool      // subscribing was tried (or is not to be)
}

// NewFileSource returns a source reading path ("-" for stdin) with dec.
// If dec is a HeaderDecoder, the first line is its header. A decoder that
// declares no schema (Schema returns nil) and reads no header is refused:
// Connect and Read return the error.
func NewFileSource(path string, dec Decoder, cfg FileConfig) *FileSource {
	cfg.setDefaults()
	name := path
	if path == "-" {
		name = "stdin"
	}
	s := &FileSource{path: path, name: name, cfg: cfg, free: make(chan []Event, 4)}
	s.setDecoder(dec)
	return s
}

// NewReaderSource returns a source reading records from r (a bounded
// input: it ends at r's EOF). name appears in positions (name:line).
func NewReaderSource(name string, r io.Reader, dec Decoder, cfg FileConfig) *FileSource {
	cfg.setDefaults()
	cfg.Follow = false
	s := &FileSource{name: name, cfg: cfg, rd: r, start: true}
	s.setDecoder(dec)
	return s
}

func (s *FileSource) setDecoder(dec Decoder) {
	s.dec = dec
	s.hdr, _ = dec.(HeaderDecoder)
	s.header = s.hdr == nil
	if s.err = checkDecoder(dec, true); s.err == nil {
		s.schema = dec.Schema()
	} else {
		s.err = fmt.Errorf("%s: %w", s.name, s.err)
	}
}

// checkDecoder refuses a decoder that cannot say its schema before reading
// (a HeaderDecoder learns it from the header, if headerOK).
func checkDecoder(dec Decoder, headerOK bool) error {
	if dec == nil {
		return errors.New("no decoder")
	}
	if _, ok := dec.(HeaderDecoder); ok && headerOK {
		return nil
	}
	if dec.Schema() == nil {
		return fmt.Errorf("decoder %T declares no schema (Schema returns nil): events would carry none and read every field as null", dec)
	}
	return nil
}

// Partitions returns the one partition of a file, -1.
func (s *FileSource) Partitions() []int32 { return []int32{-1} }

// Name returns the path ("stdin" for "-").
func (s *FileSource) Name() string { return s.name }

// Schema returns the schema the decoder declared when the source was built:
// nil for a decoder that learns it from the header (NewCSVDecoder).
func (s *FileSource) Schema() *Schema { return s.schema }

// Connect opens the file.
func (s *FileSource) Connect(context.Context) error {
	if s.err != nil {
		return s.err
	}
	if s.rd != nil {
		return nil
	}
	return s.open()
}

func (s *FileSource) open() error {
	if s.path == "-" {
		s.rd, s.start = os.Stdin, true
		return nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	if s.file != nil {
		_ = s.file.Close()
	}
	s.file, s.rd, s.offset, s.start = f, f, 0, true
	s.dev, s.ino = 0, 0
	if fi, err := f.Stat(); err == nil {
		s.dev, s.ino = fileID(fi)
	}
	if at := s.resumeAt; at != nil {
		s.resumeAt = nil
		return s.seek(*at)
	}
	return nil
}

// Close closes the file (never stdin).
func (s *FileSource) Close(context.Context) error {
	s.unwatch()
	if s.file != nil {
		err := s.file.Close()
		s.file = nil
		return err
	}
	return nil
}

// Read returns the next batch of up to BatchSize events and the rejected
// lines among them. At the end of a file that is not followed it returns
// ErrEndOfInput.
func (s *FileSource) Read(ctx context.Context) (Batch, error) {
	if s.err != nil {
		return Batch{}, s.err
	}
	if s.rd == nil {
		if err := s.open(); err != nil {
			return Batch{}, err
		}
	}
	var b Batch
	var vals []Value
	for {
		// Decode the whole lines we have.
		for s.pos < len(s.chunk) && len(b.Events) < s.cfg.BatchSize {
			end := indexByte(s.chunk, s.pos, '\n')
			if end < 0 {
				end = len(s.chunk)
			}
			line := s.chunk[s.pos:end]
			s.pos = end + 1
			if err := s.decodeLine(line, &b, &vals); err != nil {
				return b, err
			}
		}
		if len(b.Events) >= s.cfg.BatchSize {
			return s.mark(b), nil
		}
		if s.eof {
			if len(b.Events) > 0 || len(b.Rejects) > 0 {
				return s.mark(b), nil
			}
			return b, ErrEndOfInput
		}
		if s.drained && (len(b.Events) > 0 || len(b.Rejects) > 0) {
			// A pipe gave all it had: what was read goes now, rather than
			// waiting for a full batch that may take long to come.
			s.drained = false
			return s.mark(b), nil
		}
		n, err := s.fill()
		if n > 0 {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return b, fmt.Errorf("%s: %w", s.name, err)
		}
		// At the end of what is there now.
		if !s.cfg.Follow || s.file == nil {
			if len(s.pending) > 0 || s.skip {
				// The last line has no newline: it is a line all the same.
				s.chunk, s.pos, s.pending = string(s.pending)+"\n", 0, s.pending[:0]
			}
			s.eof = true
			continue
		}
		if len(b.Events) > 0 || len(b.Rejects) > 0 {
			return s.mark(b), nil
		}
		if err := s.wait(ctx); err != nil {
			return b, err
		}
	}
}

// fill reads one chunk and moves the whole lines in it to s.chunk.
func (s *FileSource) fill() (int, error) {
	if cap(s.pending)-len(s.pending) < s.cfg.ChunkSize {
		grown := make([]byte, len(s.pending), len(s.pending)+s.cfg.ChunkSize)
		copy(grown, s.pending)
		s.pending = grown
	}
	space := cap(s.pending) - len(s.pending)
	n, err := s.rd.Read(s.pending[len(s.pending):cap(s.pending)])
	// A short read from a pipe or stdin means nothing more is there yet. A
	// regular file's short read is its end: Read handles that.
	s.drained = s.file == nil && n < space
	if n == 0 {
		if err == nil {
			err = io.EOF
		}
		return 0, err
	}
	s.offset += int64(n)
	start := len(s.pending)
	s.pending = s.pending[:start+n]
	if s.start {
		// The whole lines before were decoded: a new file begins here.
		if len(s.pending) < len(bom) && bytes.HasPrefix(bom, s.pending) {
			return n, nil // maybe a BOM: wait for more
		}
		s.start, start = false, 0
		if bytes.HasPrefix(s.pending, bom) {
			s.pending = s.pending[:copy(s.pending, s.pending[len(bom):])]
		}
		if s.hdr != nil && s.header {
			s.header = false // a new file may have its own header
		}
	}
	last := bytes.LastIndexByte(s.pending[start:], '\n')
	if last < 0 {
		if len(s.pending) > s.cfg.MaxLineSize {
			// An over-long line: drop its bytes up to its end; the line is
			// rejected when its end arrives, with its start as raw bytes.
			if !s.skip {
				s.skipRaw = bytes.Clone(s.pending[:min(len(s.pending), maxRejectRaw)])
			}
			s.skip = true
			s.pending = s.pending[:0]
		}
		return n, nil
	}
	last += start
	s.chunk = string(s.pending[:last+1])
	s.pos = 0
	rest := copy(s.pending, s.pending[last+1:])
	s.pending = s.pending[:rest]
	return n, nil
}

func (s *FileSource) decodeLine(line string, b *Batch, vals *[]Value) error {
	s.line++
	pos := Position{Source: s.name, Partition: -1, Offset: s.line, Line: true}
	if s.skip {
		s.skip = false
		raw := s.skipRaw
		s.skipRaw = nil
		b.Rejects = append(b.Rejects, Reject{Pos: pos, Reason: fmt.Sprintf("line longer than %d bytes", s.cfg.MaxLineSize), Raw: raw})
		return nil
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if line == "" {
		return nil
	}
	if why := checkText(line); why != "" {
		b.Rejects = append(b.Rejects, Reject{Pos: pos, Reason: why, Raw: []byte(line)})
		return nil
	}
	if !s.header {
		s.header = true
		d, err := s.hdr.Header(line)
		if !s.headerRead {
			// The first file's first line is its header.
			if err != nil {
				return &DecodeError{Pos: pos, Reason: err.Error()}
			}
			if d == nil || d.Schema() == nil {
				return &DecodeError{Pos: pos, Reason: fmt.Sprintf("header: decoder %T gave no schema", s.hdr)}
			}
			s.dec, s.headerRead = d, true
			return nil
		}
		// A file that replaced a followed one starts with a header if the
		// line reads as one for the same fields (a declared schema, or the
		// same header); otherwise (a file truncated in place and written on)
		// the line is a record.
		if err == nil && d != nil {
			switch now, cur := d.Schema(), s.dec.Schema(); {
			case now == cur:
				s.dec = d
				return nil
			case sameFields(now, cur):
				return nil
			}
		}
	}
	schema := s.dec.Schema()
	nf := schema.Len()
	if len(*vals) < nf || b.Events == nil {
		// Room for the rest of a batch, or for the lines read and not yet
		// decoded when they are few (counted when under 16 bytes a line
		// would fill the batch): a line that trickles in alone does not
		// cost a whole batch's.
		n := s.cfg.BatchSize - len(b.Events)
		if rest := len(s.chunk) - s.pos; rest < 16*n {
			n = min(n, 1+strings.Count(s.chunk[min(s.pos, len(s.chunk)):], "\n"))
		}
		if len(*vals) < nf {
			*vals = make([]Value, nf*n)
		}
		if b.Events == nil {
			select {
			case e := <-s.free:
				if cap(e) >= n {
					b.Events = e[:0]
				}
			default:
			}
		}
		if b.Events == nil {
			b.Events = make([]Event, 0, n)
		}
	}
	b.Events = append(b.Events, Event{Pos: pos, Schema: schema})
	ev := &b.Events[len(b.Events)-1]
	ev.Fields = (*vals)[:nf:nf]
	if err := s.dec.Decode(line, ev); err != nil {
		b.Events = b.Events[:len(b.Events)-1]
		b.Rejects = append(b.Rejects, Reject{Pos: pos, Reason: err.Error(), Raw: []byte(line)})
		clear((*vals)[:nf])
		return nil
	}
	*vals = (*vals)[nf:]
	return nil
}

// sameFields reports whether two schemas have the same fields.
func sameFields(a, b *Schema) bool {
	if a == nil || b == nil || a.Len() != b.Len() {
		return false
	}
	for i := 0; i < a.Len(); i++ {
		if a.Field(i) != b.Field(i) {
			return false
		}
	}
	return true
}

// bom is the UTF-8 byte order mark.
var bom = []byte("\ufeff")

// maxRejectRaw bounds the raw bytes kept of an over-long line.
const maxRejectRaw = 4096

// wait blocks until the file changes or the next poll, then reopens the
// path if the file was replaced (rotated) or truncated.
func (s *FileSource) wait(ctx context.Context) error {
	if s.replaced {
		// The old file was read to its end: on to the new one.
		s.replaced = false
		return s.reopen()
	}
	if !s.watchTried {
		s.watchTried = true
		if s.subscribe() {
			// Look once more: what was written before the subscription
			// sent no notification.
			return nil
		}
	}
	var changed <-chan struct{} // nil without notification: only the poll
	if s.wsub != nil {
		changed = s.wsub.c
	}
	tick, stop := s.cfg.Clock.NewTicker(s.cfg.PollInterval)
	defer stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tick:
	case <-changed:
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return nil // being rotated: try again at the next poll
	}
	cur, err := s.file.Stat()
	switch {
	case err == nil && os.SameFile(fi, cur) && fi.Size() >= s.offset:
		return nil // the same file, grown or not
	case err == nil && !os.SameFile(fi, cur) && cur.Size() > s.offset:
		// Replaced, but the old file got lines after those read (written
		// before its writer moved on): read them, then the new file.
		s.replaced = true
		return nil
	}
	return s.reopen()
}

// reopen opens the path again, after a rotation or truncation.
func (s *FileSource) reopen() error {
	if len(s.pending) > 0 {
		// The old file's unterminated last line is a line.
		s.chunk, s.pos = string(s.pending)+"\n", 0
		s.pending = s.pending[:0]
	}
	return s.open()
}

// subscribe sets up the change notification of a followed file, with a
// watcher of its own unless one was given (a GlobSource's). It reports
// whether notifications will come; if not, the file is polled.
func (s *FileSource) subscribe() bool {
	if s.cfg.PollOnly || s.path == "-" || s.path == "" {
		return false
	}
	if s.watch == nil {
		w, err := newWatcher()
		if err != nil {
			return false
		}
		s.watch, s.ownWatch = w, true
	}
	sub, err := s.watch.file(s.path)
	if err != nil {
		s.unwatch()
		return false
	}
	s.wsub = sub
	return true
}

// unwatch ends the file's subscription, and its watcher if its own.
func (s *FileSource) unwatch() {
	if s.wsub != nil {
		s.watch.remove(s.wsub)
		s.wsub = nil
	}
	if s.ownWatch {
		_ = s.watch.close()
	}
	s.watch, s.ownWatch = nil, false
}

var _ SchemaSource = (*FileSource)(nil)

// RecycleEvents takes back the Events slice of a batch the runner is done
// with, for a later batch (stream.EventRecycler).
func (s *FileSource) RecycleEvents(evs []Event) {
	clear(evs[:cap(evs)])
	select {
	case s.free <- evs[:0]:
	default:
	}
}
