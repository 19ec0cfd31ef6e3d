package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// InvalidatorConfig sets how an Invalidator learns of changes. Zero values
// mean the defaults.
type InvalidatorConfig struct {
	// Channel, if set, is a pub/sub channel whose messages are changed keys
	// (see Publish). Otherwise keyspace notifications are used.
	Channel string
	// DB is the database number in keyspace notification channels
	// (__keyspace@<DB>__:<key>). Default: the client's DB when known, else 0.
	DB int
	// EnableNotifications makes Run turn on keyspace notifications for hash
	// and generic commands (CONFIG SET notify-keyspace-events) when they are
	// off; the change to the server's config is logged at Warn with the old
	// and the new value. Without it Run fails if they are off.
	EnableNotifications bool
	// Logger receives subscription changes. nil: discard.
	Logger *slog.Logger
	// OnInvalidate, if set, is called with every key invalidated.
	OnInvalidate func(key string)
}

// Invalidator drops cache entries whose Redis hash changed. Register caches
// with Watch, then Run it in its own goroutine. On each (re)subscription it
// purges the watched caches, since changes may have been missed meanwhile.
type Invalidator struct {
	client  redis.UniversalClient
	cfg     InvalidatorConfig
	watches []watch
	ready   chan struct{}
	once    sync.Once
}

type watch struct {
	prefix, suffix string
	cache          *Cache
	wholeKey       bool // the cache is keyed by the whole Redis key
}

// NewInvalidator returns an invalidator reading from client.
func NewInvalidator(client redis.UniversalClient, cfg InvalidatorConfig) *Invalidator {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DB == 0 {
		if c, ok := client.(*redis.Client); ok {
			cfg.DB = c.Options().DB
		}
	}
	return &Invalidator{client: client, cfg: cfg, ready: make(chan struct{})}
}

// Watch registers cache as holding the hashes <keyPrefix><id>, keyed by id.
// Call it before Run.
func (iv *Invalidator) Watch(keyPrefix string, cache *Cache) {
	iv.watches = append(iv.watches, watch{prefix: keyPrefix, cache: cache})
}

// WatchLookup registers the cache and key template of l. Call it before
// Run.
func (iv *Invalidator) WatchLookup(l *Lookup) {
	iv.watches = append(iv.watches, watch{prefix: l.keyPrefix, suffix: l.keySuffix, cache: l.cache, wholeKey: !l.single})
}

// Ready is closed once the first subscription is confirmed: changes made
// after that are seen.
func (iv *Invalidator) Ready() <-chan struct{} { return iv.ready }

// Run subscribes and invalidates until ctx ends; it returns ctx.Err() or the
// error that stopped it. On a Redis Cluster (a *redis.ClusterClient),
// keyspace notifications are each node's own: Run checks them and
// subscribes on every master it knows when it starts (a master added later
// is not watched until Run starts again).
func (iv *Invalidator) Run(ctx context.Context) error {
	if len(iv.watches) == 0 {
		return errors.New("enrich: invalidator watches nothing")
	}
	if iv.cfg.Channel != "" {
		ps := iv.client.Subscribe(ctx, iv.cfg.Channel)
		defer ps.Close()
		return iv.listen(ctx, ps.ChannelWithSubscriptions(), 1)
	}
	pats := make([]string, len(iv.watches))
	for i, w := range iv.watches {
		pats[i] = iv.keyspace() + globEscape(w.prefix) + "*" + globEscape(w.suffix)
	}
	cc, ok := iv.client.(*redis.ClusterClient)
	if !ok {
		if err := iv.checkNotifications(ctx, iv.client); err != nil {
			return err
		}
		ps := iv.client.PSubscribe(ctx, pats...)
		defer ps.Close()
		return iv.listen(ctx, ps.ChannelWithSubscriptions(), len(pats))
	}
	var mu sync.Mutex
	var subs []*redis.PubSub
	defer func() {
		for _, ps := range subs {
			ps.Close()
		}
	}()
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		if err := iv.checkNotifications(ctx, m); err != nil {
			return fmt.Errorf("%w (node %s)", err, m.Options().Addr)
		}
		mu.Lock()
		subs = append(subs, m.PSubscribe(ctx, pats...))
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	// One channel for the masters' messages, closed when one of theirs is.
	all := make(chan any)
	stop := make(chan struct{})
	defer close(stop)
	for _, ps := range subs {
		go func(ch <-chan any) {
			for m := range ch {
				select {
				case all <- m:
				case <-stop:
					return
				}
			}
			select {
			case all <- nil:
			case <-stop:
			}
		}(ps.ChannelWithSubscriptions())
	}
	return iv.listen(ctx, all, len(pats)*len(subs))
}

// listen handles the messages of ch until ctx ends or ch closes (or yields
// nil); Ready is closed once it has confirmed subs subscriptions.
func (iv *Invalidator) listen(ctx context.Context, ch <-chan any, subs int) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-ch:
			if !ok || m == nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errors.New("enrich: invalidator subscription closed")
			}
			if _, sub := m.(*redis.Subscription); sub {
				subs--
			}
			iv.handle(m, subs <= 0)
		}
	}
}

func (iv *Invalidator) keyspace() string { return "__keyspace@" + strconv.Itoa(iv.cfg.DB) + "__:" }

// handle handles a message; all says every subscription is confirmed.
func (iv *Invalidator) handle(m any, all bool) {
	switch m := m.(type) {
	case *redis.Subscription:
		// A (re)subscription: whatever changed while unsubscribed is unknown.
		for _, w := range iv.watches {
			w.cache.Purge()
		}
		iv.cfg.Logger.Info("enrich: invalidator subscribed", "kind", m.Kind, "channel", m.Channel)
		if all {
			iv.once.Do(func() { close(iv.ready) })
		}
	case *redis.Message:
		key := m.Payload
		if iv.cfg.Channel == "" {
			key = strings.TrimPrefix(m.Channel, iv.keyspace())
		}
		iv.invalidate(key)
	}
}

func (iv *Invalidator) invalidate(key string) {
	for _, w := range iv.watches {
		id, ok := strings.CutPrefix(key, w.prefix)
		if ok {
			id, ok = strings.CutSuffix(id, w.suffix)
		}
		if ok && id != "" {
			if w.wholeKey {
				id = key
			}
			w.cache.Invalidate(id)
		}
	}
	if iv.cfg.OnInvalidate != nil {
		iv.cfg.OnInvalidate(key)
	}
}

// checkNotifications makes sure Redis sends keyspace events for hashes and
// for generic commands (DEL, EXPIRE) and expiry/eviction.
func (iv *Invalidator) checkNotifications(ctx context.Context, client redis.Cmdable) error {
	cur, err := client.ConfigGet(ctx, "notify-keyspace-events").Result()
	if err != nil {
		return fmt.Errorf("enrich: read notify-keyspace-events: %w", err)
	}
	flags := cur["notify-keyspace-events"]
	missing := ""
	for _, f := range "Khgxe" {
		if !strings.ContainsRune(flags, f) && !(f != 'K' && strings.ContainsRune(flags, 'A')) {
			missing += string(f)
		}
	}
	if missing == "" {
		return nil
	}
	if !iv.cfg.EnableNotifications {
		return fmt.Errorf("enrich: keyspace notifications lack %q (have %q): set notify-keyspace-events or InvalidatorConfig.EnableNotifications", missing, flags)
	}
	if err := client.ConfigSet(ctx, "notify-keyspace-events", flags+missing).Err(); err != nil {
		return fmt.Errorf("enrich: enable keyspace notifications: %w", err)
	}
	iv.cfg.Logger.Warn("enrich: changed the Redis server's config to enable keyspace notifications (CONFIG SET notify-keyspace-events)",
		"old", flags, "new", flags+missing)
	return nil
}

// Publish announces changed keys on a channel read by Invalidators
// configured with that Channel.
func Publish(ctx context.Context, client redis.UniversalClient, channel string, keys ...string) error {
	pipe := client.Pipeline()
	for _, k := range keys {
		pipe.Publish(ctx, channel, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("enrich: publish invalidations on %s: %w", channel, err)
	}
	return nil
}

// globEscape escapes the glob characters of a Redis pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
