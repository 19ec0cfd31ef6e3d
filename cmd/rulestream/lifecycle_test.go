package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// appGoroutines returns the stacks of the goroutines the run started
// itself (the job watcher, the cache invalidator, the HTTP server's silence
// check...) that are still alive.
func appGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	created := regexp.MustCompile(`(?m)^created by (main|github\.com/rulestream/rulestream/cmd/rulestream)\.\(\*app\)\.`)
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if created.MatchString(g) {
			out = append(out, g)
		}
	}
	return out
}

// The goroutines a run starts beside its pipeline (the job watcher, the
// cache invalidator and, with -http, the silence check and the server) are
// stopped and joined before Redis, or the embedded server, is closed:
// none of them is alive when it is.
func TestGoroutinesJoinedBeforeRedisCloses(t *testing.T) {
	for _, embedded := range []bool{false, true} {
		name := "redis"
		if embedded {
			name = "embedded"
		}
		t.Run(name, func(t *testing.T) {
			_, url, prefix := testRedis(t)
			if embedded {
				url, prefix = "", ""
			}
			o := newOptions(filepath.Join(loginsDir, "job.yaml"), url, prefix)
			o.once, o.http = true, "127.0.0.1:0"
			var alive []string
			closed := 0
			o.onRedisClose = func() {
				closed++
				alive = appGoroutines()
			}
			stdout, stderr, err := runJob(t, o)
			require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Equal(t, 1, closed, "Redis closed once")
			require.Empty(t, alive, "goroutines of the run alive when Redis closed:\n%s", strings.Join(alive, "\n\n"))
		})
	}
}

// openFiles returns the files this process has open (Linux's /proc).
func openFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	var files []string
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
			files = append(files, target)
		}
	}
	return files
}

// -cpuprofile writes a profile and closes its file, whether the run
// succeeds or fails.
func TestCPUProfileClosed(t *testing.T) {
	_, url, prefix := testRedis(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pprof")
	var stdout, stderr syncBuffer
	status := runMain([]string{"-job", filepath.Join(loginsDir, "job.yaml"), "-once", "-redis", url, "-prefix", prefix,
		"-progress", "off", "-quiet", "-cpuprofile", good}, &stdout, &stderr)
	require.Equal(t, 0, status, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.Contains(t, stdout.String(), "events: ")
	profile, err := os.ReadFile(good)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(profile, []byte{0x1f, 0x8b}), "not a gzipped profile")
	require.NotContains(t, openFiles(t), good, "the profile is still open")

	bad := filepath.Join(dir, "bad.pprof")
	status = runMain([]string{"-job", filepath.Join(dir, "missing.yaml"), "-cpuprofile", bad}, &stdout, &stderr)
	require.Equal(t, 1, status)
	require.Contains(t, stderr.String(), "rulestream: ")
	require.FileExists(t, bad)
	require.NotContains(t, openFiles(t), bad, "the profile is still open")
}
