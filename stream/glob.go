package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// GlobConfig configures a GlobSource. Zero values mean the defaults.
type GlobConfig struct {
	// File configures each file's source. Follow is always on. Unless
	// File.PollOnly, one change notification watcher serves every file,
	// and a file created in the pattern's directory (when the directory
	// part has no wildcard) is matched at once.
	File FileConfig
	// Rescan is how often the pattern is matched again for files that
	// appeared (the fallback when no notification says so). Default 1s.
	Rescan time.Duration
	// Clock paces the rescans. Default File.Clock (the system clock).
	Clock Clock
	// Logger receives a line for each file that joins, and why a file that
	// matched could not be opened. Default: discard.
	Logger *slog.Logger
}

func (c *GlobConfig) setDefaults() {
	c.File.Follow = true
	c.File.setDefaults()
	if c.Rescan <= 0 {
		c.Rescan = time.Second
	}
	if c.Clock == nil {
		c.Clock = c.File.Clock
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.File.Logger == nil {
		c.File.Logger = c.Logger
	}
}

// GlobSource follows every file matching a pattern (filepath.Match syntax),
// like tail -F, each file as a partition of its own: one collector per host
// writing its own file. Partition k is the k-th file found (the files
// matching at construction first, in lexical order); SourceStats names it
// by the file's path, and its events' positions keep the path and line.
// Every Rescan it matches the pattern again: a file that appeared joins as a
// new partition, announced in Batch.NewPartitions before its first event,
// so that in an ordinary pipeline the watermark waits for it (its events
// are not late behind what the other files brought meanwhile). A file that
// disappears stays a partition (it is being rotated, or its collector is
// gone: silent). For a bounded run over a glob, read one FileSource per
// file instead.
type GlobSource struct {
	pattern string
	newDec  func() (Decoder, error)
	cfg     GlobConfig
	schema  *Schema
	initial int

	mu    sync.Mutex
	files []*FileSource // by partition
	known map[string]bool

	watch     *watcher // shared by the files (nil: polling)
	startOnce sync.Once
	startErr  error
	ch        chan globMsg
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

type globMsg struct {
	b   Batch
	err error
}

// NewGlobSource returns a source following the files matching pattern,
// each decoded by a decoder newDec returns (one per file: a header decoder
// learns each file's header). A malformed pattern is an error; a pattern
// matching nothing yet is not (files may appear).
func NewGlobSource(pattern string, newDec func() (Decoder, error), cfg GlobConfig) (*GlobSource, error) {
	if newDec == nil {
		return nil, errors.New("stream: NewGlobSource needs a decoder function")
	}
	cfg.setDefaults()
	g := &GlobSource{pattern: pattern, newDec: newDec, cfg: cfg, known: map[string]bool{}}
	dec, err := newDec()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	if err := checkDecoder(dec, true); err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	g.schema = dec.Schema()
	paths, err := g.match()
	if err != nil {
		return nil, err
	}
	for i, path := range paths {
		if i > 0 {
			if dec, err = newDec(); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		g.add(path, dec)
	}
	g.initial = len(paths)
	return g, nil
}

// match returns the regular files matching the pattern not known yet, in
// lexical order.
func (g *GlobSource) match() ([]string, error) {
	paths, err := filepath.Glob(g.pattern)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", g.pattern, err)
	}
	slices.Sort(paths)
	g.mu.Lock()
	defer g.mu.Unlock()
	out := paths[:0]
	for _, p := range paths {
		if fi, err := os.Stat(p); g.known[p] || err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// add makes path the next partition and returns its number.
func (g *GlobSource) add(path string, dec Decoder) int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.files = append(g.files, g.newFile(path, dec))
	g.known[path] = true
	return int32(len(g.files) - 1)
}

// newFile returns the source of one file, woken by the glob's watcher.
func (g *GlobSource) newFile(path string, dec Decoder) *FileSource {
	f := NewFileSource(path, dec, g.cfg.File)
	f.watch, f.watchTried = g.watch, g.watch == nil
	return f
}

func (g *GlobSource) file(part int32) *FileSource {
	g.mu.Lock()
	defer g.mu.Unlock()
	if part < 0 || int(part) >= len(g.files) {
		return nil
	}
	return g.files[part]
}

// Name returns the pattern.
func (g *GlobSource) Name() string { return g.pattern }

// Schema returns the schema the decoder declares (nil for one that learns
// it from each file's header).
func (g *GlobSource) Schema() *Schema { return g.schema }

// Partitions returns the partitions of the files that matched at
// construction: the runner waits for each before moving the watermark.
func (g *GlobSource) Partitions() []int32 {
	out := make([]int32, g.initial)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

// PartitionName returns the path of partition part's file.
func (g *GlobSource) PartitionName(part int32) string {
	if f := g.file(part); f != nil {
		return f.path
	}
	return fmt.Sprintf("%s/%d", g.pattern, part)
}

// Paths returns the files followed, by partition.
func (g *GlobSource) Paths() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, len(g.files))
	for i, f := range g.files {
		out[i] = f.path
	}
	return out
}

// Resume makes each file that matched at construction read on from its
// offset, matched by path (see FileSource.Resume), at Connect. An offset
// of a file that no longer matches is dropped, which is logged: if it
// appears again, it is read from its beginning.
func (g *GlobSource) Resume(offsets []SourceOffset) ([]SourceOffset, error) {
	g.mu.Lock()
	byPath := make(map[string]int32, len(g.files))
	for i, f := range g.files {
		byPath[f.path] = int32(i)
	}
	g.mu.Unlock()
	var took []SourceOffset
	for _, o := range offsets {
		part, ok := byPath[o.Name]
		if !ok {
			g.cfg.Logger.Warn("a checkpointed file no longer matches the input: its offset is dropped", "file", o.Name, "line", o.Line)
			continue
		}
		if _, err := g.file(part).Resume([]SourceOffset{o}); err != nil {
			return nil, err
		}
		o.Partition = part
		took = append(took, o)
	}
	return took, nil
}

// Connect opens the files that matched at construction and starts reading
// them and matching the pattern again.
func (g *GlobSource) Connect(ctx context.Context) error {
	g.startOnce.Do(func() { g.startErr = g.start() })
	return g.startErr
}

func (g *GlobSource) start() error {
	var created <-chan struct{} // a file was created in the pattern's directory
	if !g.cfg.File.PollOnly {
		if w, err := newWatcher(); err == nil {
			g.watch = w
			if dir := filepath.Dir(g.pattern); !hasMeta(dir) {
				if sub, err := w.created(dir); err == nil {
					created = sub.c
				}
			}
		}
	}
	g.mu.Lock()
	files := slices.Clone(g.files)
	for _, f := range files {
		f.watch, f.watchTried = g.watch, g.watch == nil
	}
	g.mu.Unlock()
	for _, f := range files {
		if err := f.Connect(context.Background()); err != nil {
			for _, f := range files {
				_ = f.Close(context.Background())
			}
			if g.watch != nil {
				_ = g.watch.close()
			}
			return err
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	g.ch, g.stop = make(chan globMsg), stop
	// The ticker exists before Connect returns: a clock advanced after it
	// (a test's ManualClock) reaches it.
	tick, stopTick := g.cfg.Clock.NewTicker(g.cfg.Rescan)
	for i, f := range files {
		g.follow(ctx, int32(i), f)
	}
	g.wg.Go(func() {
		defer stopTick()
		for {
			select {
			case <-tick:
				g.rescan(ctx)
			case <-created:
				g.rescan(ctx)
			case <-ctx.Done():
				return
			}
		}
	})
	return nil
}

// follow reads file part until ctx ends, handing its batches to Read.
func (g *GlobSource) follow(ctx context.Context, part int32, f *FileSource) {
	g.wg.Go(func() {
		for {
			b, err := f.Read(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				g.send(ctx, globMsg{err: err})
				return
			}
			for i := range b.Events {
				b.Events[i].Pos.Partition = part
			}
			for i := range b.Rejects {
				b.Rejects[i].Pos.Partition = part
			}
			if b.Resume != nil {
				b.Resume.Partition = part
			}
			if !g.send(ctx, globMsg{b: b}) {
				return
			}
		}
	})
}

func (g *GlobSource) send(ctx context.Context, m globMsg) bool {
	select {
	case g.ch <- m:
		return true
	case <-ctx.Done():
		return false
	}
}

// rescan matches the pattern again: each new file is opened, announced (a
// batch of NewPartitions, taken by Read before any of its events) and then
// read.
func (g *GlobSource) rescan(ctx context.Context) {
	paths, err := g.match()
	if err != nil {
		return // the pattern was checked at construction
	}
	for _, path := range paths {
		dec, err := g.newDec()
		if err != nil {
			g.send(ctx, globMsg{err: fmt.Errorf("%s: %w", path, err)})
			return
		}
		f := g.newFile(path, dec)
		if err := f.Connect(ctx); err != nil {
			g.cfg.Logger.Warn("a file matching the input could not be opened; tried again at the next rescan", "file", path, "error", err)
			continue
		}
		g.mu.Lock()
		g.files = append(g.files, f)
		g.known[path] = true
		part := int32(len(g.files) - 1)
		g.mu.Unlock()
		g.cfg.Logger.Info("input file joins", "file", path, "partition", part)
		if !g.send(ctx, globMsg{b: Batch{NewPartitions: []int32{part}}}) {
			return
		}
		g.follow(ctx, part, f)
	}
}

// Read returns the next batch of any file, or the announcement of a file
// that joined.
func (g *GlobSource) Read(ctx context.Context) (Batch, error) {
	if err := g.Connect(ctx); err != nil {
		return Batch{}, err
	}
	select {
	case m := <-g.ch:
		return m.b, m.err
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
}

// Close stops reading and matching, and closes the files.
func (g *GlobSource) Close(ctx context.Context) error {
	if g.stop != nil {
		g.stop()
		done := make(chan struct{})
		go func() { g.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("%s: its files' readers did not stop: %w", g.pattern, ctx.Err())
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for _, f := range g.files {
		errs = append(errs, f.Close(ctx))
	}
	if g.watch != nil {
		errs = append(errs, g.watch.close())
		g.watch = nil
	}
	return errors.Join(errs...)
}

// hasMeta reports whether path has filepath.Match's special characters.
func hasMeta(path string) bool {
	magic := `*?[`
	if filepath.Separator != '\\' {
		magic = `*?[\`
	}
	return strings.ContainsAny(path, magic)
}

var (
	_ PartitionLister = (*GlobSource)(nil)
	_ ResumableSource = (*GlobSource)(nil)
	_ PartitionNamer  = (*GlobSource)(nil)
	_ SchemaSource    = (*GlobSource)(nil)
	_ Connecter       = (*GlobSource)(nil)
)
