package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// Play is one recorded play.
type Play struct {
	Time    int64  `json:"t"` // event time, unix milliseconds
	EventID string `json:"eventId"`
	TrackID string `json:"trackId"`
	Track   *Track `json:"track"` // null when track:<id> is missing
	Zip     string `json:"zip"`
	Mobile  bool   `json:"mobile"`
}

// PlayPage is a page of plays.
type PlayPage struct {
	Offset int    `json:"offset"` // of the first play shown, from the newest
	Total  int64  `json:"total"`  // plays held
	Plays  []Play `json:"plays"`
}

// PlaySummary sums the plays held: by hour of day (UTC), by zip code, by
// track (the top Config.Top), mobile and desktop, and their time span.
type PlaySummary struct {
	Plays     int         `json:"plays"`
	ByHour    [24]int     `json:"byHour"`
	Zips      []RankEntry `json:"zips"`
	Tracks    []RankEntry `json:"tracks"`
	Mobile    int         `json:"mobile"`
	First     int64       `json:"first"` // unix ms; 0 without plays
	Last      int64       `json:"last"`
	Malformed int         `json:"malformed"` // members that are not a recorded play (left out)
}

// plays reads limit plays of id from offset (newest first).
func (d *Dashboard) plays(ctx context.Context, id string, offset, limit int) (PlayPage, error) {
	key := d.cfg.Prefix + PlaysKey + id
	pg := PlayPage{Offset: offset, Plays: []Play{}}
	var card *redis.IntCmd
	var zs *redis.ZSliceCmd
	_, err := d.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		card = p.ZCard(ctx, key)
		zs = p.ZRevRangeWithScores(ctx, key, int64(offset), int64(offset+limit-1))
		return nil
	})
	if err != nil {
		return pg, fmt.Errorf("dashboard: read %s: %w", key, err)
	}
	pg.Total = card.Val()
	var ids []string
	var bad int
	for _, z := range zs.Val() {
		p, ok := decodePlay(z)
		if !ok {
			bad++
			continue
		}
		pg.Plays = append(pg.Plays, p)
		ids = append(ids, p.TrackID)
	}
	titles, err := d.tracks(ctx, ids)
	for i := range pg.Plays {
		if t, ok := titles[pg.Plays[i].TrackID]; ok {
			pg.Plays[i].Track = &t
		}
	}
	if bad > 0 {
		err = errors.Join(err, fmt.Errorf("dashboard: %s: %d members are not recorded plays", key, bad))
	}
	return pg, err
}

func decodePlay(z redis.Z) (Play, bool) {
	s, _ := z.Member.(string)
	var p play
	if err := json.Unmarshal([]byte(s), &p); err != nil || p.EventID == "" {
		return Play{}, false
	}
	return Play{Time: int64(z.Score), EventID: p.EventID, TrackID: p.TrackID, Zip: p.Zip, Mobile: p.Mobile}, true
}

// playSummary sums every play plays:<id> holds; the recorder bounds them
// to its Keep, and the read to 4×Keep should the key hold more.
func (d *Dashboard) playSummary(ctx context.Context, id string) (PlaySummary, error) {
	key := d.cfg.Prefix + PlaysKey + id
	bound := int64(4000)
	if d.cfg.Plays != nil {
		bound = 4 * int64(d.cfg.Plays.cfg.Keep)
	}
	ps := PlaySummary{Zips: []RankEntry{}, Tracks: []RankEntry{}}
	zs, err := d.cfg.Redis.ZRevRangeWithScores(ctx, key, 0, bound-1).Result()
	if err != nil {
		return ps, fmt.Errorf("dashboard: read %s: %w", key, err)
	}
	zips, tracks := map[string]int64{}, map[string]int64{}
	for _, z := range zs {
		p, ok := decodePlay(z)
		if !ok {
			ps.Malformed++
			continue
		}
		ps.Plays++
		ps.ByHour[time.UnixMilli(p.Time).UTC().Hour()]++
		zips[p.Zip]++
		tracks[p.TrackID]++
		if p.Mobile {
			ps.Mobile++
		}
		if ps.Last == 0 {
			ps.Last = p.Time
		}
		ps.First = p.Time
	}
	ps.Zips, ps.Tracks = topOf(zips, d.cfg.Top), topOf(tracks, d.cfg.Top)
	ids := make([]string, len(ps.Tracks))
	for i, e := range ps.Tracks {
		ids[i] = e.Key
	}
	titles, err := d.tracks(ctx, ids)
	for i, e := range ps.Tracks {
		if t, ok := titles[e.Key]; ok {
			ps.Tracks[i].Track = &t
		}
	}
	return ps, err
}

// topOf returns the n highest counts of m, by count then key.
func topOf(m map[string]int64, n int) []RankEntry {
	out := make([]RankEntry, 0, len(m))
	for k, v := range m {
		out = append(out, RankEntry{Key: k, Plays: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Plays != out[j].Plays {
			return out[i].Plays > out[j].Plays
		}
		return out[i].Key < out[j].Key
	})
	return out[:min(n, len(out))]
}
