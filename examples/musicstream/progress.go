package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rulestream/rulestream/stream"
	"golang.org/x/term"
)

// firings sums the rule counters of every partition's engine.
func (a *app) firings() map[string]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := map[string]int64{}
	for _, r := range a.master.Live().Rules() {
		f[r.Name] = 0
	}
	for _, en := range a.engines {
		for _, rs := range en.Stats().Rules {
			f[rs.Rule] += rs.Firings
		}
	}
	return f
}

func formatFirings(f map[string]int64) string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%d", n, f[n])
	}
	return strings.Join(parts, " ")
}

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
					st.EventsIn-last, st.EventsIn, formatWatermark(st.Watermark), lag, formatFirings(a.firings()))
				last = st.EventsIn
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// summary prints the final counts on stdout.
func (a *app) summary(p *stream.Pipeline, elapsed time.Duration) {
	st := p.Stats()
	var dups, evictions, matches int64
	a.mu.Lock()
	for _, d := range a.dedups {
		dups += d.Stats().Duplicates
	}
	for _, w := range a.windows {
		s := w.Stats()
		evictions += s.Evictions
		matches += s.Emitted
	}
	a.mu.Unlock()
	rate := float64(st.EventsIn) / elapsed.Seconds()
	out := a.out
	if a.o.quiet {
		out = os.Stdout
	}
	fmt.Fprintf(out, "events: %d in, %d duplicates dropped, %d dead-lettered, %d late\n", st.EventsIn, dups, st.DeadLetters, st.Late)
	fmt.Fprintf(out, "repeats: %d matches (3 plays of a track within 30m), %d evictions\n", matches, evictions)
	fmt.Fprintf(out, "rules: %s\n", formatFirings(a.firings()))
	fmt.Fprintf(out, "watermark: %s, %d checkpoints\n", formatWatermark(st.Watermark), st.Checkpoints)
	fmt.Fprintf(out, "time: %.2fs (%.0f events/s)\n", elapsed.Seconds(), rate)
}
