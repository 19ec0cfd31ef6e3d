package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

var (
	runnerOnce sync.Once
	runnerPath string
	runnerErr  error
)

// buildRunner builds cmd/rulestream once per test binary: the job files are
// run as a user runs them.
func buildRunner(t *testing.T) string {
	t.Helper()
	runnerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rulestream-e2e")
		if err != nil {
			runnerErr = err
			return
		}
		runnerPath = filepath.Join(dir, "rulestream")
		out, err := exec.Command("go", "build", "-o", runnerPath, "../../cmd/rulestream").CombinedOutput()
		if err != nil {
			runnerErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	require.NoError(t, runnerErr)
	return runnerPath
}

// The committed sample data beside job.yaml is what the generator writes.
func TestSampleDataIsGenerated(t *testing.T) {
	d := gen.Generate(gen.SampleConfig)
	for name, write := range map[string]func(*bytes.Buffer) error{
		"plays.csv":     func(b *bytes.Buffer) error { return gen.WritePlays(b, d.Plays) },
		"customers.csv": func(b *bytes.Buffer) error { return gen.WriteCustomerHashes(b, d.Customers) },
		"music.csv":     func(b *bytes.Buffer) error { return gen.WriteTrackHashes(b, d.Tracks) },
	} {
		var want bytes.Buffer
		require.NoError(t, write(&want))
		got, err := os.ReadFile(filepath.Join("data", name))
		require.NoError(t, err)
		require.True(t, bytes.Equal(want.Bytes(), got), "data/%s differs from the generator's output: run go generate ./examples/musicstream", name)
	}
}

// The job file run by cmd/rulestream, on its own sample data, writes what an
// independent computation says; and a second run adds nothing.
func TestRunnerMusicJob(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	bin := buildRunner(t)
	d := gen.Generate(gen.SampleConfig)
	exp := compute(d.Plays, d.Customers)
	require.NotEmpty(t, exp.interest)
	args := []string{"-job", "job.yaml", "-once", "-redis", url, "-prefix", prefix, "-progress", "off"}
	stdout := runBinary(t, bin, args...)
	t.Log(stdout)
	require.Contains(t, stdout, "job musicstream: dedup → customer → [repeats | order] → rules")
	require.Contains(t, stdout, fmt.Sprintf("window repeats: %d results", exp.interestEntries))
	checkRedis(t, rdb, prefix, exp)
	before := digest(t, rdb, prefix)
	runBinary(t, bin, args...)
	require.Equal(t, before, digest(t, rdb, prefix), "a second run changes nothing")
}

// repeatsJob writes a copy of job.yaml whose repeats window is count plays
// within `within`, its input and reference files given as absolute paths.
func repeatsJob(t *testing.T, count int, within string) string {
	t.Helper()
	src, err := os.ReadFile("job.yaml")
	require.NoError(t, err)
	data, err := filepath.Abs("data")
	require.NoError(t, err)
	s := strings.NewReplacer("count: 3", fmt.Sprintf("count: %d", count), "within: 30m", "within: "+within,
		"data/", data+"/").Replace(string(src))
	require.Contains(t, s, fmt.Sprintf("count: %d", count))
	path := filepath.Join(t.TempDir(), "job.yaml")
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	return path
}

// Changing the repeats window in the YAML alone changes the interest
// results accordingly, through the runner and through the musicstream
// binary (-job); the other rules are untouched.
func TestYAMLOnlyRepeatsChange(t *testing.T) {
	d := gen.Generate(gen.SampleConfig)
	base := compute(d.Plays, d.Customers)
	exp := computeRepeats(d.Plays, d.Customers, 2, time.Hour)
	require.NotEqual(t, base.interest, exp.interest, "the change must change the answer")
	require.Greater(t, exp.interestEntries, base.interestEntries)
	path := repeatsJob(t, 2, "1h")

	t.Run("runner", func(t *testing.T) {
		url, rdb, prefix := testRedis(t)
		stdout := runBinary(t, buildRunner(t), "-job", path, "-once", "-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
		require.Contains(t, stdout, fmt.Sprintf("window repeats: %d results", exp.interestEntries))
		checkRedis(t, rdb, prefix, exp)
	})
	t.Run("musicstream", func(t *testing.T) {
		url, rdb, prefix := testRedis(t)
		dir := t.TempDir()
		var plays bytes.Buffer
		require.NoError(t, gen.WritePlays(&plays, d.Plays))
		playsPath := filepath.Join(dir, "plays.csv")
		require.NoError(t, os.WriteFile(playsPath, plays.Bytes(), 0o644))
		custPath := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
		stdout := runBinary(t, buildBinary(t), "-job", path, "-once", "-tracks", playsPath, "-customers", custPath,
			"-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
		require.Contains(t, stdout, fmt.Sprintf("repeats: %d matches", exp.interestEntries))
		checkRedis(t, rdb, prefix, exp)
	})
}
