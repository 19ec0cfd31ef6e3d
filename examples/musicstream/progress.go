package main

import (
	"fmt"
	"os"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/music"
	"github.com/rulestream/rulestream/internal/runcli"
	"github.com/rulestream/rulestream/stream"
	"golang.org/x/term"
)

func formatWatermark(wm int64) string {
	switch wm {
	case stream.MinWatermark:
		return "-"
	case stream.MaxWatermark:
		return "end"
	}
	return time.Unix(0, wm).UTC().Format("2006-01-02 15:04:05")
}

// startProgress prints a progress line on stderr every second when stderr
// is a terminal (or -progress on): events/s, watermark, lag, firings.
func (a *app) startProgress(p *stream.Pipeline) func() {
	on := a.o.progress == "on" || (a.o.progress == "auto" && term.IsTerminal(int(os.Stderr.Fd())))
	if !on || a.o.quiet {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				fmt.Fprintln(os.Stderr)
				return
			case <-t.C:
				st := p.Stats()
				lag := "-"
				if st.Watermark != stream.MinWatermark && st.Watermark != stream.MaxWatermark {
					lag = time.Duration(st.MaxEventTime - st.Watermark).String()
				}
				fmt.Fprintf(os.Stderr, "\r%9d events/s  in %d  watermark %s  lag %s  %s\x1b[K",
					st.EventsIn-last, st.EventsIn, formatWatermark(st.Watermark), lag, music.FormatFirings(a.sc.Counters().Firings))
				last = st.EventsIn
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// summary prints the final counts on stdout: first how the run ended when
// a signal stopped it, then what was read, fired, written and not written.
func (a *app) summary(p *stream.Pipeline, elapsed time.Duration, end runcli.Ending) {
	st := p.Stats()
	c := a.sc.Counters()
	out := a.stdout
	end.WriteHeadline(out, a.o.once)
	fmt.Fprintf(out, "events: %d in, %d duplicates dropped, %d dead-lettered, %d late\n", st.EventsIn, c.Duplicates, st.DeadLetters, st.Late)
	fmt.Fprintf(out, "repeats: %d matches, %d evictions\n", c.Matches, c.Evictions)
	fmt.Fprintf(out, "rules: %s\n", music.FormatFirings(c.Firings))
	if errs := c.Errors(); len(errs) > 0 {
		fmt.Fprintf(out, "errors: %s\n", music.FormatFirings(errs))
	}
	written, pending := map[string]int64{}, map[string]int64{}
	for name, t := range a.sc.Built().Targets() {
		written[name] = t.Written
		if t.Pending > 0 {
			pending[name] = int64(t.Pending)
		}
	}
	fmt.Fprintf(out, "written: %s\n", music.FormatFirings(written))
	if len(pending) > 0 {
		fmt.Fprintf(out, "pending: %s (not written: not acknowledged by Redis)\n", music.FormatFirings(pending))
	}
	end.WriteDropped(out)
	if a.sorted != nil {
		ss := a.sorted.Stats()
		fmt.Fprintf(out, "sorted: %d events by event time, %.1f MiB held, %d runs spilled\n", ss.Events, float64(ss.PeakBytes)/(1<<20), ss.Runs)
	}
	budget, _ := stream.MemoryFlag(a.o.memory)
	fmt.Fprintln(out, stream.MemoryLine(st, budget))
	if st.Ahead > 0 {
		fmt.Fprintf(out, "ahead: %d events far ahead of their input's event time, held out of the watermark (%d of them outliers)\n", st.Ahead, st.Outliers)
	}
	fmt.Fprintf(out, "watermark: %s, %d checkpoints\n", formatWatermark(st.Watermark), st.Checkpoints)
	fmt.Fprintf(out, "time: %.2fs (%.0f events/s)\n", elapsed.Seconds(), float64(st.EventsIn)/max(elapsed.Seconds(), 1e-9))
}
