package alert

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream/metrics"
)

// HistoryKey is the key of a source's hourly history, after the prefix.
const HistoryKey = "source:history:"

// maxHour bounds the stored unix hours (the year 2999).
const maxHour = 32503680000 / 3600

// redisHistory keeps the sources' hourly history in Redis hashes.
type redisHistory struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisHistory returns a metrics.HistoryStore keeping one Redis hash
// per source: key prefix+"source:history:"+source, field the unix hour
// (unix seconds / 3600, decimal), value "events watched_seconds" (what the
// source produced in that hour and how many seconds of it the monitor
// watched, decimals). Load pipelines one HGETALL per source, Save one HSET
// and one HDEL per source changed. A stored field that does not parse is
// skipped: Load returns the rest with a *metrics.HistoryFieldError naming
// the key, field and value, which the SourceMonitor logs. The hashes are
// not expired: the hours older than SourceConfig.Days are deleted as the
// monitor moves on, and the key of a source gone for good stays.
func NewRedisHistory(rdb redis.UniversalClient, prefix string) metrics.HistoryStore {
	return &redisHistory{rdb: rdb, prefix: prefix}
}

func (h *redisHistory) key(source string) string { return h.prefix + HistoryKey + source }

func (h *redisHistory) Load(ctx context.Context, sources []string) (map[string]map[int64]metrics.HourCount, error) {
	pipe := h.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(sources))
	for i, s := range sources {
		cmds[i] = pipe.HGetAll(ctx, h.key(s))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("alert: load source history: %w", err)
	}
	out := make(map[string]map[int64]metrics.HourCount, len(sources))
	var skipped []error
	for i, s := range sources {
		fields := cmds[i].Val()
		if len(fields) == 0 {
			continue
		}
		hours := make(map[int64]metrics.HourCount, len(fields))
		for f, v := range fields {
			hr, c, err := ParseHour(f, v)
			if err != nil {
				skipped = append(skipped, &metrics.HistoryFieldError{Key: h.key(s), Field: f, Value: v, Err: err})
				continue
			}
			hours[hr] = c
		}
		out[s] = hours
	}
	return out, errors.Join(skipped...)
}

func (h *redisHistory) Save(ctx context.Context, changes []metrics.HistoryChange) error {
	pipe := h.rdb.Pipeline()
	for _, c := range changes {
		key := h.key(c.Source)
		if len(c.Set) > 0 {
			args := make([]any, 0, 2*len(c.Set))
			for hr, n := range c.Set {
				field, value := FormatHour(hr, n)
				args = append(args, field, value)
			}
			pipe.HSet(ctx, key, args...)
		}
		if len(c.Drop) > 0 {
			fields := make([]string, len(c.Drop))
			for i, hr := range c.Drop {
				fields[i] = strconv.FormatInt(hr, 10)
			}
			pipe.HDel(ctx, key, fields...)
		}
	}
	if pipe.Len() == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("alert: save source history: %w", err)
	}
	return nil
}

// FormatHour returns the hash field and value RedisHistory stores for
// hour hr (a unix hour) of a source.
func FormatHour(hr int64, c metrics.HourCount) (field, value string) {
	return strconv.FormatInt(hr, 10), strconv.FormatInt(c.Events, 10) + " " + strconv.FormatFloat(c.Watched.Seconds(), 'f', -1, 64)
}

// ParseHour reads back a field and value FormatHour wrote: a unix hour
// from 0 to the year 2999, and "events watched_seconds" with events a
// count and watched_seconds a decimal from 0 to 3600.
func ParseHour(field, value string) (int64, metrics.HourCount, error) {
	hr, err := strconv.ParseInt(field, 10, 64)
	if err != nil || hr < 0 || hr > maxHour {
		return 0, metrics.HourCount{}, errors.New("the field is not a unix hour")
	}
	ev, w, ok := strings.Cut(value, " ")
	if !ok {
		return 0, metrics.HourCount{}, errors.New(`want "events watched_seconds"`)
	}
	events, err := strconv.ParseInt(ev, 10, 64)
	if err != nil || events < 0 {
		return 0, metrics.HourCount{}, fmt.Errorf("events %q: want a count", ev)
	}
	secs, err := strconv.ParseFloat(w, 64)
	if err != nil || math.IsNaN(secs) || secs < 0 || secs > 3600 {
		return 0, metrics.HourCount{}, fmt.Errorf("watched seconds %q: want a decimal from 0 to 3600", w)
	}
	return hr, metrics.HourCount{Events: events, Watched: time.Duration(math.Round(secs * float64(time.Second)))}, nil
}
