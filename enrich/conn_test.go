package enrich

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/internal/testredis"
)

func TestParseAddr(t *testing.T) {
	o, err := ParseAddr("rediss://app:s3cret@cache.example:6380/2")
	if err != nil {
		t.Fatal(err)
	}
	if o.TLSConfig == nil || o.Username != "app" || o.Password != "s3cret" || o.DB != 2 || o.Addr != "cache.example:6380" {
		t.Errorf("options %+v", o)
	}
	if o, err := ParseAddr("127.0.0.1:6379"); err != nil || o.Addr != "127.0.0.1:6379" || o.TLSConfig != nil {
		t.Errorf("bare address: %+v %v", o, err)
	}
	for _, bad := range []string{"redis://app:s3cret@host:notaport/0", "redis://app:s3cret@host:6379/x", "redis://app:s3cret@host:6379/?bogus=1"} {
		_, err := ParseAddr(bad)
		if err == nil {
			t.Errorf("%s accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if got := Redact("redis://app:s3cret@host:6379/0"); got != "redis://app:xxxxx@host:6379/0" {
		t.Errorf("Redact = %s", got)
	}
}

// TestConnectACLNeverLogsPassword connects with an ACL user and password to
// the test Redis, then with a wrong password: neither the logs nor the
// errors hold a password.
func TestConnectACLNeverLogsPassword(t *testing.T) {
	addr := testredis.Addr(t)
	admin, _ := testClient(t)
	ctx := testCtx(t)
	user := fmt.Sprintf("enrichtest%x", rand.Uint32())
	pass := fmt.Sprintf("pw%xsecret", rand.Uint64())
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">"+pass, "~*", "&*", "+@all").Err(); err != nil {
		t.Skipf("cannot create an ACL user: %v", err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, err := Connect(ctx, fmt.Sprintf("redis://%s:%s@%s/%d", user, pass, addr, testDB), logger)
	if err != nil {
		t.Fatal(err)
	}
	if who := client.Do(ctx, "ACL", "WHOAMI").Val(); who != user {
		t.Errorf("connected as %v", who)
	}
	_ = client.Close()
	wrong := pass + "x"
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = Connect(short, fmt.Sprintf("redis://%s:%s@%s/%d", user, wrong, addr, testDB), logger)
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	if strings.Contains(err.Error(), pass) || !strings.Contains(err.Error(), "xxxxx") {
		t.Errorf("error: %v", err)
	}
	if strings.Contains(logs.String(), pass) {
		t.Errorf("logs hold the password:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "connected to redis") || !strings.Contains(logs.String(), "unreachable") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

func TestParseClusterAddr(t *testing.T) {
	if IsCluster("127.0.0.1:6379") || !IsCluster("a:1,b:2") {
		t.Fatal("IsCluster")
	}
	o, err := ParseClusterAddr("rediss://app:s3cret@a:1,b:2,c:3")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Addrs, " ") != "a:1 b:2 c:3" || o.Username != "app" || o.Password != "s3cret" || o.TLSConfig == nil {
		t.Errorf("options %+v", o)
	}
	for _, bad := range []string{"a:1,,b:2", "a:1,redis://b:2/3"} {
		if _, err := ParseClusterAddr(bad); err == nil {
			t.Errorf("ParseClusterAddr(%q): no error", bad)
		}
	}
	if _, err := Open("a:1,b:2", 1); err == nil {
		t.Error("Open of a cluster with database 1: no error")
	}
	c, err := Open("a:1,b:2", -1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*redis.ClusterClient); !ok {
		t.Errorf("Open of two addresses gave a %T", c)
	}
	if got := Redact("redis://u:pw1@a:1,redis://u:pw1@b:2"); strings.Contains(got, "pw1") {
		t.Errorf("Redact = %s", got)
	}
}
