package rules

import (
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/cputime"
)

// cpuTimer measures the process's CPU time (user+system) over a benchmark,
// a figure less disturbed than wall time when other processes share the
// machine's cores (time spent descheduled is not counted).
type cpuTimer struct{ start time.Duration }

func startCPU() cpuTimer { return cpuTimer{start: cputime.Process()} }

// report adds the cpu-ns/op metric.
func (c cpuTimer) report(b *testing.B) {
	b.ReportMetric(float64(cputime.Process()-c.start)/float64(b.N), "cpu-ns/op")
}
