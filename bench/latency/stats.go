package main

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// samples are latencies of one rule.
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) reset() {
	s.mu.Lock()
	s.d = s.d[:0]
	s.mu.Unlock()
}

func (s *samples) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// quantile is the q-quantile (nearest rank) of sorted ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// report prints one line: "<label>: n=N p50=X ms p99=Y ms max=Z ms".
func (s *samples) report(w io.Writer, label string) {
	s.mu.Lock()
	ds := slices.Clone(s.d)
	s.mu.Unlock()
	slices.Sort(ds)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	if len(ds) == 0 {
		fmt.Fprintf(w, "%s: n=0\n", label)
		return
	}
	fmt.Fprintf(w, "%s: n=%d p50=%s ms p99=%s ms max=%s ms\n", label, len(ds), ms(quantile(ds, 0.5)), ms(quantile(ds, 0.99)), ms(ds[len(ds)-1]))
}
