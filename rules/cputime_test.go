package rules

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer measures the process's CPU time (user+system) over a benchmark,
// a figure less disturbed than wall time when other processes share the
// machine's cores (time spent descheduled is not counted).
type cpuTimer struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuTimer { return cpuTimer{start: processCPU()} }

// report adds the cpu-ns/op metric.
func (c cpuTimer) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-c.start)/float64(b.N), "cpu-ns/op")
}
