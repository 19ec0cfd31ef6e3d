package analytics

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Reader reads the analytics keys back.
type Reader struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewReader returns a reader of the keys under prefix (Config.Prefix).
func NewReader(rdb redis.UniversalClient, prefix string) *Reader {
	return &Reader{rdb: rdb, prefix: KeyPrefix(rdb, prefix)}
}

// HourStats are the plays of one hour.
type HourStats struct {
	Hour      string `json:"hour"` // YYYYMMDDHH
	Plays     int64  `json:"plays"`
	Mobile    int64  `json:"mobile"`
	Desktop   int64  `json:"desktop"`
	Listeners int64  `json:"listeners"`
}

// MobileShare returns Mobile/Plays, 0 without plays.
func (h HourStats) MobileShare() float64 {
	if h.Plays == 0 {
		return 0
	}
	return float64(h.Mobile) / float64(h.Plays)
}

// Entry is one member of a ranking or breakdown.
type Entry struct {
	Key   string `json:"key"`
	Plays int64  `json:"plays"`
}

// Buckets returns the last n hour (index "hours") or day ("days") buckets
// written, oldest first.
func (r *Reader) Buckets(ctx context.Context, index string, n int) ([]string, error) {
	if index != indexHours && index != indexDays {
		return nil, fmt.Errorf("analytics: unknown index %q (want hours or days)", index)
	}
	bs, err := r.rdb.ZRange(ctx, r.prefix+index, int64(-n), -1).Result()
	if err != nil {
		return nil, fmt.Errorf("analytics: read %s%s: %w", r.prefix, index, err)
	}
	return bs, nil
}

// Hours returns the plays of the last n hours written, oldest first.
func (r *Reader) Hours(ctx context.Context, n int) ([]HourStats, error) {
	hours, err := r.Buckets(ctx, indexHours, n)
	if err != nil || len(hours) == 0 {
		return nil, err
	}
	cmds, err := r.hourly(ctx, "plays", hours)
	if err != nil {
		return nil, err
	}
	out := make([]HourStats, 0, len(hours))
	for i, h := range hours {
		m := cmds[i].Val()
		if len(m) == 0 {
			continue // an hour with a breakdown but no plays key yet
		}
		hs := HourStats{Hour: h}
		for f, p := range map[string]*int64{"plays": &hs.Plays, "mobile": &hs.Mobile, "desktop": &hs.Desktop, "listeners": &hs.Listeners} {
			if *p, err = strconv.ParseInt(m[f], 10, 64); err != nil && m[f] != "" {
				return nil, fmt.Errorf("analytics: %splays:hour:%s field %s: %q is not an integer", r.prefix, h, f, m[f])
			}
		}
		out = append(out, hs)
	}
	return out, nil
}

// Top returns the first n members of a ranking key, e.g. Top(ctx,
// "zip:day:20141001", 20), highest first (ties: the greater member first).
func (r *Reader) Top(ctx context.Context, key string, n int) ([]Entry, error) {
	zs, err := r.rdb.ZRevRangeWithScores(ctx, r.prefix+key, 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("analytics: read %s%s: %w", r.prefix, key, err)
	}
	out := make([]Entry, len(zs))
	for i, z := range zs {
		out[i] = Entry{Key: fmt.Sprint(z.Member), Plays: int64(z.Score)}
	}
	return out, nil
}

// Breakdown sums a per-hour hash ("level", "gender" or "age") over hours.
func (r *Reader) Breakdown(ctx context.Context, dim string, hours []string) (map[string]int64, error) {
	cmds, err := r.hourly(ctx, dim, hours)
	if err != nil {
		return nil, err
	}
	sum := map[string]int64{}
	for i, c := range cmds {
		for k, v := range c.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("analytics: %s%s:hour:%s field %s: %q is not an integer", r.prefix, dim, hours[i], k, v)
			}
			sum[k] += n
		}
	}
	return sum, nil
}

// hourly reads the hashes kind:hour:<h> of hours in one pipeline.
func (r *Reader) hourly(ctx context.Context, kind string, hours []string) ([]*redis.MapStringStringCmd, error) {
	cmds := make([]*redis.MapStringStringCmd, len(hours))
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hours {
			cmds[i] = p.HGetAll(ctx, r.prefix+kind+":hour:"+h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("analytics: read %s: %w", kind, err)
	}
	return cmds, nil
}
