package enrich

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisProc is a redis-server subprocess of a test, with its data in dir
// (AOF on, so a restart keeps the data).
type redisProc struct {
	t    testing.TB
	addr string
	dir  string
	cmd  *exec.Cmd
	args []string
}

func startRedis(t testing.TB, args ...string) *redisProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not installed")
		}
		t.Skip("redis-server not installed")
	}
	p := &redisProc{t: t, addr: freePort(t), dir: t.TempDir(), args: args}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *redisProc) port() string { return p.addr[len("127.0.0.1:"):] }

func (p *redisProc) start() {
	p.t.Helper()
	args := append([]string{"--port", p.port(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
		"--appendfsync", "always", "--dir", p.dir}, p.args...)
	p.cmd = exec.Command("redis-server", args...)
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	// Wait until it answers (bounded by a deadline, not a sleep).
	c := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for c.Ping(ctx).Err() != nil {
		select {
		case <-ctx.Done():
			p.t.Fatalf("redis-server on %s did not start", p.addr)
		case <-tick.C:
		}
	}
}

// stop shuts the server down (SIGTERM: the AOF is complete) and waits.
func (p *redisProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	p.cmd = nil
}
