package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const bom = "\ufeff"

// samplePlays returns the lines of data/plays.csv.
func samplePlays(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("data", "plays.csv"))
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
}

// A plays file saved with a UTF-8 BOM (as Windows editors save CSV): the
// first play is read, not dead-lettered, by the musicstream binary from a
// -tracks file and from stdin (-tracks -, the built binary, exit 0), and by
// cmd/rulestream running job.yaml over a glob of files each with its BOM
// (musicstream's -tracks takes one file or stdin, no glob).
func TestBOMIsNotPartOfTheFirstLine(t *testing.T) {
	lines := samplePlays(t)
	content := bom + strings.Join(lines[:200], "\n") + "\n"
	counts := regexp.MustCompile(`(?m)^events: (\d+) in, \d+ duplicates dropped, (\d+) dead-lettered, \d+ late$`)
	check := func(t *testing.T, stdout string, in int, deadletter []map[string]any) {
		t.Helper()
		m := counts.FindStringSubmatch(stdout)
		require.NotNil(t, m, stdout)
		require.Equal(t, []string{fmt.Sprint(in), "0"}, m[1:], "events in, dead-lettered:\n%s", stdout)
		require.Empty(t, deadletter, "queue:deadletter")
	}

	t.Run("file", func(t *testing.T) {
		url, rdb, prefix := testRedis(t)
		path := filepath.Join(t.TempDir(), "plays.csv")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		stdout, stderr, err := runOnce(t, "-once", "-tracks", path, "-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
		require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		check(t, stdout, 200, readStream(t, rdb, prefix+"queue:deadletter"))
	})

	t.Run("stdin", func(t *testing.T) {
		url, rdb, prefix := testRedis(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, buildBinary(t), "-once", "-tracks", "-", "-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
		var stdout, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(content), &stdout, &stderr
		require.NoError(t, cmd.Run(), "exit status 0\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		check(t, stdout.String(), 200, readStream(t, rdb, prefix+"queue:deadletter"))
	})

	t.Run("glob through cmd/rulestream", func(t *testing.T) {
		url, rdb, prefix := testRedis(t)
		dir := t.TempDir()
		third := len(lines) / 3
		for i, part := range [][]string{lines[:third], lines[third : 2*third], lines[2*third:]} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("plays-%d.csv", i)), []byte(bom+strings.Join(part, "\n")+"\n"), 0o644))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, buildRunner(t), "-job", "job.yaml", "-input", filepath.Join(dir, "plays-*.csv"), "-once",
			"-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "exit status 0\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		check(t, stdout.String(), len(lines), readStream(t, rdb, prefix+"queue:deadletter"))
	})
}
