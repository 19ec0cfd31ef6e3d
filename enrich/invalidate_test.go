package enrich

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

func customerLevel(t *testing.T, l *Lookup, id int64) int64 {
	t.Helper()
	out := process(t, l, playEvents([]int64{id}, []int64{0}))
	rec, _ := out[0].Joined("customer")
	if rec == nil {
		t.Fatalf("customer %d not found", id)
	}
	return rec.Get("level").Int()
}

// runInvalidator starts iv and waits until it is subscribed.
func runInvalidator(t *testing.T, iv *Invalidator) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- iv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("invalidator: %v", err)
		}
	})
	select {
	case <-iv.Ready():
	case err := <-done:
		done <- err // for the cleanup, which waits for Run's result
		t.Fatalf("invalidator stopped: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("invalidator not subscribed within 5s")
	}
}

func TestInvalidationFreshWithinASecond(t *testing.T) {
	for _, mode := range []string{"keyspace", "channel"} {
		t.Run(mode, func(t *testing.T) {
			client, prefix := testClient(t)
			ctx := testCtx(t)
			client.HSet(ctx, prefix+"customer:42", "id", "42", "level", "0")
			cfg := customerLookup(prefix)
			cfg.CacheConfig.TTL = time.Hour // only invalidation can refresh it
			l, err := NewLookup(client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			seen := make(chan string, 16)
			icfg := InvalidatorConfig{OnInvalidate: func(key string) { seen <- key }}
			if mode == "channel" {
				icfg.Channel = prefix + "invalidate"
			}
			iv := NewInvalidator(client, icfg)
			iv.WatchLookup(l)
			runInvalidator(t, iv)
			if lv := customerLevel(t, l, 42); lv != 0 {
				t.Fatalf("level %d", lv)
			}
			// Upgrade to Gold, as another process would.
			start := time.Now()
			client.HSet(ctx, prefix+"customer:42", "level", "2")
			if mode == "channel" {
				if err := Publish(ctx, client, icfg.Channel, prefix+"customer:42"); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case key := <-seen:
				if key != prefix+"customer:42" {
					t.Fatalf("invalidated %q", key)
				}
			case <-time.After(time.Second):
				t.Fatal("no invalidation within a second")
			}
			if lv := customerLevel(t, l, 42); lv != 2 {
				t.Fatalf("level %d after the upgrade, want 2", lv)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("upgrade seen after %v", d)
			}
		})
	}
}

func TestInvalidatorEnablesNotifications(t *testing.T) {
	srv := testredis.Start(t, "--notify-keyspace-events", "")
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = client.Close() })
	l, err := NewLookup(client, LookupConfig{Name: "customer", Key: "customer:{customer_id}", Schema: gen.CustomerSchema})
	if err != nil {
		t.Fatal(err)
	}
	iv := NewInvalidator(client, InvalidatorConfig{})
	iv.WatchLookup(l)
	if err := iv.Run(testCtx(t)); err == nil || !strings.Contains(err.Error(), "notify-keyspace-events") {
		t.Fatalf("run with notifications off: %v", err)
	}
	seen := make(chan string, 4)
	iv = NewInvalidator(client, InvalidatorConfig{EnableNotifications: true, OnInvalidate: func(k string) { seen <- k }})
	iv.WatchLookup(l)
	runInvalidator(t, iv)
	client.HSet(testCtx(t), "customer:1", "level", "2")
	select {
	case k := <-seen:
		if k != "customer:1" {
			t.Fatalf("invalidated %q", k)
		}
	case <-time.After(time.Second):
		t.Fatal("no notification after enabling them")
	}
}

// TestKeyTemplateLookupAndInvalidation reads hashes through key templates
// with text after the placeholder and with two placeholders (the cache then
// holds whole keys), and sees their changes through keyspace notifications.
func TestKeyTemplateLookupAndInvalidation(t *testing.T) {
	cases := []struct {
		name, key   string
		hash, other string // the hash read, and a key whose change must not invalidate it
		wholeKey    bool   // the cache holds the whole key, not the id
	}{
		{"suffix", "app:{customer_id}:profile", "app:7:profile", "app:7:other", false},
		{"two fields", "app:{customer_id}:{track_id}", "app:7:3", "apx:7:3", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client, prefix := testClient(t)
			ctx := testCtx(t)
			schema := stream.MustSchema("profile", stream.Field{Name: "id", Kind: stream.KindInt}, stream.Field{Name: "tier", Kind: stream.KindString})
			client.HSet(ctx, prefix+c.hash, "id", "7", "tier", "free")
			client.HSet(ctx, prefix+c.other, "id", "7")
			l, err := NewLookup(client, LookupConfig{Name: "profile", Key: prefix + c.key, Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			tier := func() string {
				out := process(t, l, playEvents([]int64{7}, []int64{3}))
				rec, _ := out[0].Joined("profile")
				return rec.Get("tier").Str()
			}
			seen := make(chan string, 8)
			iv := NewInvalidator(client, InvalidatorConfig{OnInvalidate: func(k string) { seen <- k }})
			iv.WatchLookup(l)
			runInvalidator(t, iv)
			if got := tier(); got != "free" {
				t.Fatalf("tier %q", got)
			}
			id := "7"
			if c.wholeKey {
				id = prefix + c.hash
			}
			if _, ok := l.Cache().Get(id); !ok {
				t.Errorf("cache lacks %q", id)
			}
			client.HSet(ctx, prefix+c.other, "x", "1") // another key: no invalidation
			client.HSet(ctx, prefix+c.hash, "tier", "gold")
			select {
			case k := <-seen:
				if k != prefix+c.hash {
					t.Fatalf("notified for %q", k)
				}
			case <-time.After(time.Second):
				t.Fatal("no invalidation within a second")
			}
			if got := tier(); got != "gold" {
				t.Fatalf("tier %q after the change", got)
			}
		})
	}
}
