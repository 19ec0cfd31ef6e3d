package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README's runner command prints each reference load once (a line,
// not also a log record), and nothing about CONFIG or at WARN: the
// embedded server has no keyspace notifications to turn on.
func TestQuickStartIsClean(t *testing.T) {
	cmd := exec.Command(rulestreamBinary(t), "-job", filepath.Join("..", "..", "examples", "musicstream", "job.yaml"), "-once")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	all := stdout.String() + stderr.String()
	for _, load := range []string{"customers.csv: loaded ", "music.csv: loaded "} {
		require.Equal(t, 1, strings.Count(all, load), "%q once in:\n%s", load, all)
	}
	require.NotContains(t, all, "enrich: loaded")
	require.NotContains(t, strings.ToLower(all), "config")
	require.NotContains(t, all, "level=WARN")
	require.NotContains(t, all, "level=ERROR")
}

// A -redis URL that cannot be parsed (a control character) is named in the
// error quoted and without its password.
func TestBadRedisURLRedacted(t *testing.T) {
	var stdout, stderr syncBuffer
	status := runMain([]string{"-job", filepath.Join(loginsDir, "job.yaml"), "-once", "-progress", "off",
		"-redis", "redis://:s3\x01cret@127.0.0.1\x7f:6379/0"}, &stdout, &stderr)
	require.Equal(t, 1, status)
	require.Equal(t, `rulestream: enrich: redis URL "redis://:xxxxx@127.0.0.1\x7f:6379/0": net/url: invalid control character in URL`+"\n", stderr.String())
	require.NotContains(t, stdout.String()+stderr.String(), "cret")
}
