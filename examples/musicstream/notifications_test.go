package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/testredis"
)

// The README's first command prints each reference load once (a line, not
// also a log record), and nothing about CONFIG or at WARN: the embedded
// server has no keyspace notifications to turn on.
func TestQuickStartIsClean(t *testing.T) {
	cmd := exec.Command(buildBinary(t), "-once", "-events", "20000")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	all := stdout.String() + stderr.String()
	for _, load := range []string{"generated customers: loaded ", "generated music: loaded "} {
		require.Equal(t, 1, strings.Count(all, load), "%q once in:\n%s", load, all)
	}
	require.NotContains(t, all, "enrich: loaded")
	require.NotContains(t, strings.ToLower(all), "config")
	require.NotContains(t, all, "level=WARN")
	require.NotContains(t, all, "level=ERROR")
}

// On a Redis whose keyspace notifications are off, musicstream turns them
// on and says so at WARN with the old and new value; with
// -set-notifications=false it leaves the server's config alone and logs
// that cache invalidation is off.
func TestKeyspaceNotificationsConfigSet(t *testing.T) {
	plays := filepath.Join(t.TempDir(), "plays.csv")
	require.NoError(t, os.WriteFile(plays, playLines(t, 10), 0o644))
	for _, c := range []struct {
		name  string
		flags []string
		log   string
		after string
	}{
		{"default", nil, `level=WARN msg="enrich: changed the Redis server's config to enable keyspace notifications (CONFIG SET notify-keyspace-events)" old="" new=Khgxe`, "ghxeK"}, // as Redis orders them
		{"refused", []string{"-set-notifications=false"}, `level=WARN msg="cache invalidation off (-set-notifications=false: the server's config is left alone): changed customers and tracks are seen after the cache TTL (5m)" error="enrich: keyspace notifications lack`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := testredis.Start(t)
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
			t.Cleanup(func() { rdb.Close() })
			ctx := context.Background()
			require.Equal(t, "", rdb.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"])
			p := startSigProc(t, append([]string{"-tracks", plays, "-redis", "redis://" + srv.Addr, "-progress", "off"}, c.flags...)...)
			p.stderr.wait(t, p, regexp.QuoteMeta(c.log))
			require.Equal(t, c.after, rdb.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"])
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			code, _ := p.exit(t, time.Minute)
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		})
	}
}

// A -redis URL that cannot be parsed (a control character) is named in the
// error quoted and without its password.
func TestBadRedisURLRedacted(t *testing.T) {
	var stdout, stderr strings.Builder
	status := runMain([]string{"-once", "-events", "10", "-progress", "off", "-redis", "redis://:s3\x01cret@127.0.0.1\x7f:6379/0"}, &stdout, &stderr)
	require.Equal(t, 1, status)
	require.Equal(t, `musicstream: enrich: redis URL "redis://:xxxxx@127.0.0.1\x7f:6379/0": net/url: invalid control character in URL`+"\n", stderr.String())
	require.NotContains(t, stdout.String()+stderr.String(), "cret")
}
