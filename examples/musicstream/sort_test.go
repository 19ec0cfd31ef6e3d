package main

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// Sorting a bounded input by event time first (-sort on) writes exactly
// what the run over the arrival order writes (-sort off), through both
// binaries: with a lateness covering the disorder, and with one that
// makes plays late (the sort judges the arrival order first, so the same
// plays reach queue:late, with the same late_by_ms). auto sorts a
// history (lateness 1h or more) and not a 5m run.
func TestSortedInputWritesTheSame(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	ms, runner := buildBinary(t), buildRunner(t)
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 5, Plays: 20000, Customers: 500, Tracks: 200, MeanGap: 2 * time.Second,
		Repeats: 50, NearMisses: 20, Duplicates: 0.02, MaxDelay: 10 * time.Minute})
	playsPath := writeFile(t, dir, "plays.csv", func(b *bytes.Buffer) error { return gen.WritePlays(b, d.Plays) })
	custPath := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
	musicPath := writeFile(t, dir, "music.csv", func(b *bytes.Buffer) error { return gen.WriteMusic(b, d.Tracks) })
	lateRe := regexp.MustCompile(`(?m)^events: \d+ in, \d+ duplicates dropped, 0 dead-lettered, (\d+) late`)

	for _, lateness := range []string{"2400h", "2m"} {
		var digests []map[string]string
		for i, sort := range []string{"off", "on", "auto"} {
			p := prefix + lateness + sort + ":"
			out := runBinary(t, ms, "-once", "-tracks", playsPath, "-customers", custPath, "-music", musicPath, "-redis", url,
				"-prefix", p, "-progress", "off", "-lateness", lateness, "-sort", sort)
			m := lateRe.FindStringSubmatch(out)
			require.NotNil(t, m, out)
			if lateness == "2m" {
				require.NotEqual(t, "0", m[1], "a 2m lateness makes plays late:\n%s", out)
			} else {
				require.Equal(t, "0", m[1], out)
			}
			sorted := sort == "on" || (sort == "auto" && lateness == "2400h")
			require.Equal(t, sorted, regexp.MustCompile(`(?m)^sorted: \d+ events by event time`).MatchString(out), "-sort %s, lateness %s:\n%s", sort, lateness, out)
			digests = append(digests, targetDigest(t, rdb, p))
			require.NotEmpty(t, digests[i]["queue:ads"])
			if lateness == "2m" {
				require.Contains(t, digests[i]["queue:late"], "late_by_ms", "the late plays are written")
			}
			require.Equal(t, digests[0], digests[i], "-sort %s writes what -sort off writes (lateness %s)", sort, lateness)
		}
	}

	// The runner on the job file, over the same plays, a history.
	job := editedJob(t, "lateness: 5m\n", "lateness: 2400h\n")
	var digests []map[string]string
	for _, sort := range []string{"off", "on"} {
		p := prefix + "runner" + sort + ":"
		out := runBinary(t, runner, "-job", job, "-input", playsPath, "-once", "-redis", url, "-prefix", p, "-progress", "off", "-sort", sort)
		require.Equal(t, sort == "on", regexp.MustCompile(`(?m)^sorted: \d+ events by event time, [\d.]+ MiB held, 0 runs spilled$`).MatchString(out), out)
		digests = append(digests, targetDigest(t, rdb, p))
	}
	require.NotEmpty(t, digests[0]["queue:interest"])
	require.Equal(t, digests[0], digests[1], "the runner writes the same sorted or not")
}

// Issue 18's bounded-history run: a million generated plays processed with
// -lateness 2400h peaked at 2.2-2.9 GB, every play buffered in the
// operators until the end. Sorted first (auto), it stays under 1 GiB and
// the sort holds under 300 bytes per play.
func TestBoundedHistoryMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("long: a million plays")
	}
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-once", "-events", "1000000", "-lateness", "2400h", "-progress", "off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	m := regexp.MustCompile(`(?m)^sorted: (\d+) events by event time, ([\d.]+) MiB held`).FindStringSubmatch(stdout.String())
	require.NotNil(t, m, stdout.String())
	events, _ := strconv.ParseFloat(m[1], 64)
	held, _ := strconv.ParseFloat(m[2], 64)
	perEvent := held * (1 << 20) / events
	// The child's own peak (VmHWM): its rusage's maxrss would count the test
	// process's memory it was forked from.
	m = regexp.MustCompile(`(?m)^memory: peak (\d+) MiB RSS`).FindStringSubmatch(stdout.String())
	require.NotNil(t, m, stdout.String())
	rss, _ := strconv.ParseInt(m[1], 10, 64)
	t.Logf("peak RSS %d MiB, %.0f bytes per buffered play", rss, perEvent)
	require.Less(t, perEvent, 300.0)
	require.Less(t, rss, int64(1024))
}
