package alert

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream/metrics"
)

// redisStream appends each alert to a Redis stream.
type redisStream struct {
	rdb    redis.UniversalClient
	key    string
	maxLen int64
}

// NewRedisStream returns a sink that appends each alert to the stream key
// (queue:alerts, after the caller's key prefix): XADD key MAXLEN ~ maxLen
// (0: no trim) * with Fields. Its name is "redis". A reply of WRONGTYPE
// (key is not a stream) is permanent; every other error is retried.
func NewRedisStream(rdb redis.UniversalClient, key string, maxLen int64) Sink {
	return &redisStream{rdb: rdb, key: key, maxLen: maxLen}
}

func (s *redisStream) Name() string { return "redis" }

func (s *redisStream) Send(ctx context.Context, a metrics.Alert) error {
	args := &redis.XAddArgs{Stream: s.key, Values: Fields(a)}
	if s.maxLen > 0 {
		args.MaxLen, args.Approx = s.maxLen, true
	}
	err := s.rdb.XAdd(ctx, args).Err()
	if err == nil {
		return nil
	}
	err = fmt.Errorf("alert: XADD %s: %w", s.key, err)
	if strings.HasPrefix(redisReply(err), "WRONGTYPE") {
		return Permanent(err)
	}
	return err
}

// redisReply returns the text of a Redis error reply in err's chain, or "".
func redisReply(err error) string {
	for e := err; e != nil; {
		if re, ok := e.(redis.Error); ok {
			return re.Error()
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		e = u.Unwrap()
	}
	return ""
}
