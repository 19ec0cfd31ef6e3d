package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A zombie: one member of the group is paused (SIGSTOP) while its
// partitions move to another, which takes new epochs and goes on from the
// paused member's last checkpoints. Resumed (SIGCONT), the zombie's next
// checkpoint is refused (checkpoint.ErrFenced) and it stops with an error
// saying why, instead of overwriting the new owner's checkpoints with its
// stale state. Redis then equals a clean run.
func TestKafkaZombieIsFenced(t *testing.T) {
	if testing.Short() {
		t.Skip("long: runs several processes")
	}
	f := newKafkaFixture(t, 100_000, 4)
	ref, group := f.prefix+"ref:", f.prefix+"zombie:"
	runBinary(t, f.bin, f.args("ref", ref, "-once")...)
	want := targetDigest(t, f.rdb, ref)
	total := f.rdb.XLen(context.Background(), ref+"queue:ads").Val()

	zombie, zout := f.start(t, f.args("zombie", group)...)
	zdone := make(chan error, 1)
	go func() { zdone <- zombie.Wait() }()
	require.True(t, f.waitAds(group, total/4, zdone), "the first member makes progress: %s", zout)
	require.NoError(t, zombie.Process.Signal(syscall.SIGSTOP))
	t.Logf("paused the first member after %d of %d ads", f.rdb.XLen(context.Background(), group+"queue:ads").Val(), total)

	owner, oout := f.start(t, f.args("zombie", group)...)
	odone := make(chan error, 1)
	go func() { odone <- owner.Wait() }()
	require.True(t, f.waitAds(group, total, odone), "the new owner takes every partition and writes the rest: %s", oout)

	require.NoError(t, zombie.Process.Signal(syscall.SIGCONT))
	select {
	case err := <-zdone:
		require.Error(t, err, "the zombie stops with an error:\n%s", zout)
	case <-time.After(time.Minute):
		_ = zombie.Process.Kill()
		t.Fatalf("the resumed zombie did not stop:\n%s", zout)
	}
	require.Contains(t, zout.String(), "zombie", "it says why")
	require.True(t, strings.Contains(zout.String(), "fenced"), "%s", zout)
	t.Logf("the zombie stopped: %s", lastLines(zout.String(), 3))

	require.NoError(t, owner.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-odone, "the owner goes on and stops cleanly: %s", oout)
	runBinary(t, f.bin, f.args("zombie", group, "-once")...)
	got := targetDigest(t, f.rdb, group)
	for k, v := range want {
		require.Equal(t, v, got[k], "key %s", k)
	}
	require.Equal(t, len(want), len(got))
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
