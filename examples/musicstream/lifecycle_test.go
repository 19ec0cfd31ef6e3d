package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// appGoroutines returns the stacks of the goroutines the run started
// itself (model watcher, invalidator, rule watcher, HTTP...) still alive.
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
	created := regexp.MustCompile(`(?m)^created by (main|github\.com/rulestream/rulestream/examples/musicstream)\.(run|\(\*app\)\.)`)
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if created.MatchString(g) {
			out = append(out, g)
		}
	}
	return out
}

// The goroutines a run starts beside its pipeline (the model watcher, the
// invalidator, the rule watcher and, with -http, the dashboard, the silence
// check and the server) are stopped and joined before Redis, or the
// embedded server, is closed.
func TestGoroutinesJoinedBeforeRedisCloses(t *testing.T) {
	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte("rules:\n  - name: ads_all\n    when: customer.level < 2\n    target: ads\n"), 0o644))
	for _, embedded := range []bool{false, true} {
		name := "redis"
		if embedded {
			name = "embedded"
		}
		t.Run(name, func(t *testing.T) {
			args := []string{"-once", "-events", "2000", "-progress", "off", "-quiet", "-http", "127.0.0.1:0", "-rules", rulesPath}
			if !embedded {
				url, _, prefix := testRedis(t)
				args = append(args, "-redis", url, "-prefix", prefix)
			}
			o, err := parseFlags(args, &bytes.Buffer{})
			require.NoError(t, err)
			var alive []string
			closed := 0
			o.onRedisClose = func() {
				closed++
				alive = appGoroutines()
			}
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			require.NoError(t, run(ctx, o, &stdout, &stderr), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			require.Equal(t, 1, closed, "Redis closed once")
			require.Empty(t, alive, "goroutines of the run alive when Redis closed:\n%s", strings.Join(alive, "\n\n"))
		})
	}
}

// -cpuprofile writes a profile and closes its file, whether the run
// succeeds or fails.
func TestCPUProfileClosed(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	openFiles := func() []string {
		entries, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		var files []string
		for _, e := range entries {
			if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
				files = append(files, target)
			}
		}
		return files
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pprof")
	var stdout, stderr syncBuffer
	status := runMain([]string{"-once", "-events", "2000", "-progress", "off", "-quiet", "-cpuprofile", good}, &stdout, &stderr)
	require.Equal(t, 0, status, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	profile, err := os.ReadFile(good)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(profile, []byte{0x1f, 0x8b}), "not a gzipped profile")
	require.NotContains(t, openFiles(), good, "the profile is still open")

	bad := filepath.Join(dir, "bad.pprof")
	status = runMain([]string{"-once", "-job", filepath.Join(dir, "missing.yaml"), "-cpuprofile", bad}, &stdout, &stderr)
	require.Equal(t, 1, status)
	require.FileExists(t, bad)
	require.NotContains(t, openFiles(), bad, "the profile is still open")
}
