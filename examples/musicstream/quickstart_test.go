package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestQuickStart runs the README's first command in process, on a small
// generated data set and the embedded Redis-protocol server (no
// redis-server needed): the default path a newcomer takes.
func TestQuickStart(t *testing.T) {
	o, err := parseFlags([]string{"-once", "-events", "20000", "-progress", "off"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, o.lateness)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, run(ctx, o, &stdout, &stderr), stderr.String())
	out := stdout.String()
	require.Regexp(t, `embedded Redis on 127\.0\.0\.1:\d+ \(redis-cli -h 127\.0\.0\.1 -p \d+\)`, out)
	m := regexp.MustCompile(`events: (\d+) in, (\d+) duplicates dropped, 0 dead-lettered, 0 late`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	require.Regexp(t, `rules: interest=[1-9]\d* sms_offer=0 upgrade_ad=[1-9]\d*`, out)
	require.Regexp(t, `repeats: [1-9]\d* matches`, out)
}

func TestFlags(t *testing.T) {
	_, err := parseFlags([]string{"-offset", "middle"}, &bytes.Buffer{})
	require.EqualError(t, err, `-offset must be oldest or newest, not "middle"`)
	_, err = parseFlags([]string{"-lateness", "-1s"}, &bytes.Buffer{})
	require.EqualError(t, err, "-lateness must not be negative")
	_, err = parseFlags([]string{"-sort", "always"}, &bytes.Buffer{})
	require.EqualError(t, err, `-sort must be auto, on or off, not "always"`)
	_, err = parseFlags([]string{"-memory", "1MiB"}, &bytes.Buffer{})
	require.EqualError(t, err, "-memory 1MiB: at least 16MiB")
	_, err = parseFlags([]string{"extra"}, &bytes.Buffer{})
	require.EqualError(t, err, "unexpected arguments: [extra]")
}

// TestBacktestWritesNothing runs -backtest against a real Redis: it
// reports each rule's firings and leaves no target key behind.
func TestBacktestWritesNothing(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	o, err := parseFlags([]string{"-backtest", "-events", "20000", "-redis", url, "-prefix", prefix, "-progress", "off"}, &bytes.Buffer{})
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), o, &stdout, &stderr), stderr.String())
	out := stdout.String()
	require.Regexp(t, `backtest of rule set demo-1 over \d+ events`, out)
	require.Regexp(t, `(?m)^upgrade_ad\s+ads\s+[1-9]\d*\s+[1-9]\d*`, out)
	require.Regexp(t, `(?m)^interest\s+interest\s+[1-9]\d*`, out)
	for _, pattern := range []string{"queue:*", "interest:*", "checkpoint:*", "rulestream:*"} {
		keys, err := rdb.Keys(context.Background(), prefix+pattern).Result()
		require.NoError(t, err)
		require.Empty(t, keys, pattern)
	}
}
