package dashboard

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Track is a track's reference data, from <prefix>track:<id> (the track
// lookup's hash; music.csv's Title and Artist).
type Track struct {
	Title  string `json:"title"`
	Artist string `json:"artist"`
}

// tracks reads the title and artist of ids (in one round trip); an id
// without a hash is absent from the result.
func (d *Dashboard) tracks(ctx context.Context, ids []string) (map[string]Track, error) {
	out := make(map[string]Track, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cmds := make(map[string]*redis.SliceCmd, len(ids))
	_, err := d.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			if _, ok := cmds[id]; !ok {
				cmds[id] = p.HMGet(ctx, d.cfg.Prefix+"track:"+id, "title", "artist")
			}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("dashboard: read %strack:<id>: %w", d.cfg.Prefix, err)
	}
	for id, c := range cmds {
		v := c.Val()
		title, _ := v[0].(string)
		artist, _ := v[1].(string)
		if v[0] != nil || v[1] != nil {
			out[id] = Track{Title: title, Artist: artist}
		}
	}
	return out, nil
}
