package targets

import (
	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

// NewRedisRouter returns a Router with one idempotent Redis sink per
// route: the sink of target t applies routes[t] to each of its events and
// is named t (which namespaces its markers). cfg's batching, retries,
// markers, chunk size, clock and logger apply to every sink; its Name and
// Writes are set per route. Events of a target without a route are an
// error (UnknownTargetError).
func NewRedisRouter(rdb redis.Cmdable, routes map[string][]Write, cfg Config) (*Router, error) {
	rc := RouterConfig{Routes: map[string][]stream.Sink{}}
	for target, writes := range routes {
		c := cfg
		c.Name, c.Writes = target, writes
		s, err := NewRedis(rdb, c)
		if err != nil {
			return nil, err
		}
		rc.Routes[target] = []stream.Sink{s}
	}
	return NewRouter(rc)
}
