package dashboard

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Interest is a track of the interest list: the rule interest's sorted set
// interest:<customer_id>, member the track id, score when it first fired.
type Interest struct {
	TrackID string `json:"trackId"`
	Track   *Track `json:"track"`
	Since   int64  `json:"since"` // unix ms
}

// InterestPage is a page of the interest list.
type InterestPage struct {
	Offset int        `json:"offset"`
	Total  int64      `json:"total"`
	Tracks []Interest `json:"tracks"`
}

// QueueScan is the customer's entries found among the newest entries of a
// target's stream, newest first. Streams are shared by every customer, so
// a request examines at most Config.QueueScan entries; Next continues
// with the older ones.
type QueueScan struct {
	Key     string              `json:"key"`
	Length  int64               `json:"length"`  // entries in the stream
	Scanned int                 `json:"scanned"` // entries examined by this request
	Entries []map[string]string `json:"entries"` // the customer's, with "id" (the entry id) and "title"/"artist" when known
	// Next is the id to pass as before= to search older entries; "" when
	// the scan reached the stream's start.
	Next string `json:"next"`
}

// interest reads limit tracks of interest:<id> from offset (newest first).
func (d *Dashboard) interest(ctx context.Context, id string, offset, limit int) (InterestPage, error) {
	key := d.cfg.Prefix + "interest:" + id
	pg := InterestPage{Offset: offset, Tracks: []Interest{}}
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
	ids := make([]string, 0, len(zs.Val()))
	for _, z := range zs.Val() {
		tid := fmt.Sprint(z.Member)
		pg.Tracks = append(pg.Tracks, Interest{TrackID: tid, Since: int64(z.Score)})
		ids = append(ids, tid)
	}
	titles, err := d.tracks(ctx, ids)
	for i := range pg.Tracks {
		if t, ok := titles[pg.Tracks[i].TrackID]; ok {
			pg.Tracks[i].Track = &t
		}
	}
	return pg, err
}

// scanChunk is how many entries one XREVRANGE of scanQueue reads.
const scanChunk = 1000

// scanQueue returns id's entries (customer_id == id) of the stream
// <prefix>stream among its newest Config.QueueScan entries older than
// before ("": from the newest), newest first, stopping early at limit.
func (d *Dashboard) scanQueue(ctx context.Context, stream, id, before string, limit int) (QueueScan, error) {
	key := d.cfg.Prefix + stream
	qs := QueueScan{Key: stream, Entries: []map[string]string{}}
	var err error
	if qs.Length, err = d.cfg.Redis.XLen(ctx, key).Result(); err != nil {
		return qs, fmt.Errorf("dashboard: read %s: %w", key, err)
	}
	end := "+"
	if before != "" {
		if end, err = previousID(before); err != nil {
			return qs, err
		}
		if end == "" {
			return qs, nil // nothing is older than 0-0
		}
	}
	for qs.Scanned < d.cfg.QueueScan && len(qs.Entries) < limit {
		n := min(scanChunk, d.cfg.QueueScan-qs.Scanned)
		msgs, err := d.cfg.Redis.XRevRangeN(ctx, key, end, "-", int64(n)).Result()
		if err != nil {
			return qs, fmt.Errorf("dashboard: read %s: %w", key, err)
		}
		for _, m := range msgs {
			qs.Scanned++
			qs.Next = m.ID
			if m.Values["customer_id"] != id {
				continue
			}
			e := map[string]string{"id": m.ID}
			for k, v := range m.Values {
				e[k] = fmt.Sprint(v)
			}
			qs.Entries = append(qs.Entries, e)
			if len(qs.Entries) == limit {
				break
			}
		}
		if len(msgs) < n { // the stream's start
			if len(qs.Entries) < limit {
				qs.Next = ""
			}
			break
		}
		if end, err = previousID(qs.Next); err != nil || end == "" {
			qs.Next = ""
			break
		}
	}
	var ids []string
	for _, e := range qs.Entries {
		ids = append(ids, e["track_id"])
	}
	titles, err := d.tracks(ctx, ids)
	for _, e := range qs.Entries {
		if t, ok := titles[e["track_id"]]; ok {
			e["title"], e["artist"] = t.Title, t.Artist
		}
	}
	return qs, err
}

// previousID returns the stream id just before id ("" before 0-0), so that
// XREVRANGE continues below an entry on any Redis (the exclusive "(" range
// needs 6.2).
func previousID(id string) (string, error) {
	var ms, seq uint64
	i := 0
	for i < len(id) && id[i] != '-' {
		i++
	}
	var err1, err2 error
	ms, err1 = strconv.ParseUint(id[:i], 10, 64)
	if i < len(id) {
		seq, err2 = strconv.ParseUint(id[i+1:], 10, 64)
	}
	if i == len(id) || err1 != nil || err2 != nil {
		return "", fmt.Errorf("dashboard: %q is not a stream entry id", id)
	}
	switch {
	case seq > 0:
		return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10), nil
	case ms > 0:
		return strconv.FormatUint(ms-1, 10) + "-18446744073709551615", nil
	}
	return "", nil
}
