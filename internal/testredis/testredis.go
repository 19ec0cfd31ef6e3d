// Package testredis gives tests a real Redis: the shared redis-server that
// scripts/test starts (RULESTREAM_TEST_REDIS), with a key prefix unique to
// the test, or a private redis-server process a test may stop and restart.
package testredis

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvVar names the variable holding the shared test Redis (host:port).
const EnvVar = "RULESTREAM_TEST_REDIS"

var seq atomic.Int64

// Addr returns the shared test Redis's address. Without it the test is
// skipped, except under CI=true, where it fails: CI must run every test.
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(EnvVar)
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI=true: run scripts/test", EnvVar)
		}
		t.Skipf("%s not set: this test needs a redis-server (scripts/test starts one)", EnvVar)
	}
	return addr
}

// Client returns a client of database db of the shared test Redis and a key
// prefix unique to this test; the keys under the prefix are deleted when
// the test ends.
func Client(t testing.TB, db int) (*redis.Client, string) {
	t.Helper()
	addr := Addr(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	// A prefix free of glob characters can be scanned as prefix+"*".
	prefix := fmt.Sprintf("t:%s:%d:%d:", cleanName(t.Name()), os.Getpid(), seq.Add(1))
	t.Cleanup(func() {
		DeletePrefix(context.Background(), rdb, prefix)
		rdb.Close()
	})
	return rdb, prefix
}

// DeletePrefix deletes every key under prefix, on every master of a
// cluster.
func DeletePrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		_ = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			deleteEach(ctx, m, prefix)
			return nil
		})
		return
	}
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			rdb.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
}

// deleteEach deletes the keys under prefix of one cluster node, one DEL per
// key: the keys of one node are in many slots.
func deleteEach(ctx context.Context, m *redis.Client, prefix string) {
	iter := m.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	pipe := m.Pipeline()
	for iter.Next(ctx) {
		pipe.Del(ctx, iter.Val())
		if pipe.Len() == 1000 {
			_, _ = pipe.Exec(ctx)
		}
	}
	_, _ = pipe.Exec(ctx)
}

// Server is a private redis-server process.
type Server struct {
	Addr string
	Port int
	dir  string
	cmd  *exec.Cmd
	args []string
}

// Start runs a private redis-server on a free port (its data in a temporary
// directory, append-only with fsync always, so a restart keeps what was
// acknowledged) and stops it when the test ends. Like every Redis test, it
// is skipped outside scripts/test (EnvVar unset) and without a redis-server
// binary, except under CI=true.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	if os.Getenv(EnvVar) == "" && os.Getenv("CI") != "true" {
		t.Skip(EnvVar + " not set: skipping the Redis tests (run scripts/test)")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed under CI=true: run scripts/test")
		}
		t.Skip("redis-server not installed")
	}
	port := FreePort(t)
	dir := t.TempDir()
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, dir: dir,
		args: append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
			"--appendonly", "yes", "--appendfsync", "always", "--logfile", ""}, extra...)}
	s.start(t)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command("redis-server", s.args...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	// The server logs to stdout; it is up once it says so.
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("redis-server on %s did not start", s.Addr)
	}
}

// Stop kills the server (as a crash would).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same port and data directory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

// FreePort returns a TCP port free on the loopback interface now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
