package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/rulestream/rulestream/bench/internal/adjob"
)

// buildRunner builds cmd/rulestream (beside this source) into dir.
func buildRunner(ctx context.Context, dir string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(dir, "rulestream")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/rulestream")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build cmd/rulestream: %w\n%s", err, out)
	}
	return bin, nil
}

var (
	summaryAds  = regexp.MustCompile(`(?m)^written: .*\bads=(\d+)`)
	summaryIn   = regexp.MustCompile(`(?m)^events: (\d+) in`)
	summaryTime = regexp.MustCompile(`(?m)^time: ([0-9.]+)s`)
)

// runRunner runs cmd/rulestream on the ad job file over the plays as a user
// runs it (default flags, a real Redis), and reports its pipeline's
// events/s (the summary's time line, as the library's figure is taken), its
// wall time and its peak memory.
func runRunner(ctx context.Context, o *options, bin, dir, plays, prefix string, extra []string, out io.Writer) (peerResult, error) {
	job := filepath.Join(dir, "adjob.yaml")
	if err := os.WriteFile(job, []byte(adjob.YAML(plays, o.lateness.String(), "")), 0o644); err != nil {
		return peerResult{}, err
	}
	args := append([]string{"-job", job, "-once", "-redis", o.redis, "-prefix", prefix, "-quiet", "-progress", "off"}, extra...)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return peerResult{}, fmt.Errorf("runner: %w\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	wall := time.Since(start)
	mi, mt := summaryIn.FindSubmatch(stdout.Bytes()), summaryTime.FindSubmatch(stdout.Bytes())
	if mi == nil || mt == nil {
		return peerResult{}, fmt.Errorf("runner: no summary in %q", stdout.Bytes())
	}
	events, _ := strconv.Atoi(string(mi[1]))
	written := 0
	if m := summaryAds.FindSubmatch(stdout.Bytes()); m != nil {
		written, _ = strconv.Atoi(string(m[1]))
	}
	secs, _ := strconv.ParseFloat(string(mt[1]), 64)
	var rssMiB float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssMiB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	fmt.Fprintf(out, "runner as a user runs it: %d events, process %.2fs wall (%.0f events/s over the whole process), peak RSS %.0f MiB\n",
		events, wall.Seconds(), float64(events)/wall.Seconds(), rssMiB)
	return peerResult{Events: events, Written: written, Seconds: secs}, nil
}
