package stream

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// AvailableMemory returns the memory this process may use, in bytes: the
// limit of its cgroup (v2 memory.max, v1 memory.limit_in_bytes) when one
// is set, else the machine's total memory (/proc/meminfo); 0 when neither
// is known (not Linux).
func AvailableMemory() int64 {
	total := int64(0)
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					total = kb << 10
				}
			}
		}
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || n <= 0 {
			continue // "max": no limit
		}
		if total == 0 || n < total {
			return n
		}
	}
	return total
}

// ParseBytes parses a size: a number of bytes, or one with a unit (KB, MB,
// GB, TB: powers of 1000; KiB, MiB, GiB, TiB: of 1024; K, M, G, T are
// taken as the binary ones), e.g. 512MiB, 1.5GiB, 2G.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || num == "" {
		return 0, fmt.Errorf("%q is not a size (e.g. 512MiB, 2GiB)", s)
	}
	mult := map[string]float64{"": 1, "B": 1,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s, unit)
	}
	if b := v * mult; b < math.MaxInt64 {
		return int64(b), nil
	}
	return 0, fmt.Errorf("%q is too large", s)
}

// MemoryFlag resolves a -memory flag's value into Config.MemoryBudget:
// "auto" is 80% of AvailableMemory (none when unknown), "off" or "0" none,
// else a size (ParseBytes).
func MemoryFlag(s string) (int64, error) {
	switch s {
	case "auto":
		return AvailableMemory() / 10 * 8, nil
	case "off", "0":
		return 0, nil
	}
	n, err := ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("-memory: %w", err)
	}
	if n < 16<<20 {
		return 0, fmt.Errorf("-memory %s: at least 16MiB", s)
	}
	return n, nil
}

// PeakRSS returns the most resident memory the process has used, in bytes
// (VmHWM in /proc/self/status); 0 when unknown (not Linux).
func PeakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmHWM:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// MemoryLine is the summary line of a run's memory: its peak RSS, and the
// budget (Config.MemoryBudget, or GOMEMLIMIT when lower) and how often it
// made the operators shed state, when it did.
func MemoryLine(st Stats, budget int64) string {
	var b strings.Builder
	b.WriteString("memory:")
	if peak := PeakRSS(); peak > 0 {
		fmt.Fprintf(&b, " peak %d MiB RSS", peak>>20)
	}
	if budget > 0 {
		if limit := debug.SetMemoryLimit(-1); limit < budget {
			budget = limit // GOMEMLIMIT, lower: the budget the run had
		}
		fmt.Fprintf(&b, ", budget %d MiB", budget>>20)
	}
	if st.Sheds > 0 {
		fmt.Fprintf(&b, ", the operators shed their oldest state %d times (counted in the evictions)", st.Sheds)
	}
	return b.String()
}
