package enrich

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how far a load has come: a progress bar on a terminal,
// plain lines every LoadConfig.ProgressEvery otherwise. It owns no
// goroutine: the loader calls tick between batches.
type progress struct {
	cfg   LoadConfig
	name  string
	w     io.Writer
	bar   *progressbar.ProgressBar
	bytes int64
	total int64
	next  time.Time
}

func newProgress(cfg LoadConfig, name string, r io.Reader) *progress {
	p := &progress{cfg: cfg, name: name, w: cfg.Progress, total: -1}
	if p.w == nil {
		return p
	}
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			p.total = st.Size()
		}
	}
	if isTerminal(p.w) {
		p.bar = progressbar.NewOptions64(p.total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(name+"s"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.next = cfg.Clock.Now().Add(cfg.ProgressEvery)
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// add counts bytes read.
func (p *progress) add(n int64) {
	p.bytes += n
	if p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

// tick prints a plain line if one is due.
func (p *progress) tick(rows int64) {
	if p.w == nil || p.bar != nil {
		return
	}
	now := p.cfg.Clock.Now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(p.cfg.ProgressEvery)
	if p.total > 0 {
		fmt.Fprintf(p.w, "%s: %d rows written, %d/%d bytes read (%.0f%%)\n", p.cfg.Input, rows, p.bytes, p.total, 100*float64(p.bytes)/float64(p.total))
		return
	}
	fmt.Fprintf(p.w, "%s: %d rows written, %d bytes read\n", p.cfg.Input, rows, p.bytes)
}

// finish ends the bar and prints the summary line.
func (p *progress) finish(s Summary) {
	if p.w == nil {
		return
	}
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	fmt.Fprintln(p.w, s.String())
}
