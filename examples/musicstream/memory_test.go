package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// Issue 18's probe of live state: distinct (customer, track) pairs, all
// within the repeats window's 30 minutes, each held by the count-within
// window, the dedup and the event-time order: 600,000 of them within 5
// minutes take 1.2 GB with no budget. Under -memory 64MiB, and under
// GOMEMLIMIT=64MiB with the default -memory, the operators shed their oldest
// state instead: the run ends normally, its peak RSS stays near the budget,
// and the summary says how often it shed and how many keys the window lost.
func TestMemoryBudgetBoundsLiveState(t *testing.T) {
	bin := buildBinary(t)
	path := filepath.Join(t.TempDir(), "plays.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	base := time.Date(2014, 10, 1, 12, 0, 0, 0, time.UTC)
	ps := make([]gen.Play, 0, 4096)
	const n = 600_000
	for i := range n {
		ps = append(ps, gen.Play{EventID: int64(i + 1), CustomerID: int64(i/100 + 1), TrackID: int64(i%100 + 1),
			Time: base.Add(time.Duration(i) * 5 * time.Minute / n), Zip: "10001"})
		if len(ps) == cap(ps) || i == n-1 {
			require.NoError(t, gen.WritePlays(w, ps))
			ps = ps[:0]
		}
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())

	for _, c := range []struct {
		name string
		args []string
		env  []string
	}{
		{"-memory 64MiB", []string{"-memory", "64MiB"}, nil},
		{"GOMEMLIMIT=64MiB", nil, []string{"GOMEMLIMIT=64MiB"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, bin, append([]string{"-once", "-tracks", path, "-progress", "off"}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "%s\nstdout:\n%s\nstderr:\n%s", c.name, stdout.String(), stderr.String())
		cancel()
		out := stdout.String()
		require.Contains(t, out, "events: 600000 in, 0 duplicates dropped, 0 dead-lettered, 0 late", c.name)
		m := regexp.MustCompile(`(?m)^memory: peak (\d+) MiB RSS, budget 64 MiB, the operators shed their oldest state (\d+) times`).FindStringSubmatch(out)
		require.NotNil(t, m, "%s:\n%s", c.name, out)
		// The child's own peak (VmHWM): its rusage's maxrss would count the
		// test process's memory it was forked from.
		rss, _ := strconv.ParseInt(m[1], 10, 64)
		m = regexp.MustCompile(`(?m)^repeats: 0 matches, (\d+) evictions$`).FindStringSubmatch(out)
		require.NotNil(t, m, out)
		ev, _ := strconv.Atoi(m[1])
		require.Positive(t, ev, "the window lost keys")
		require.Contains(t, stderr.String(), `msg="memory budget reached`)
		t.Logf("%s: peak RSS %d MiB", c.name, rss)
		require.Less(t, rss, int64(256), "%s: peak RSS %d MiB (1.2 GB without a budget)", c.name, rss)
	}
}
