package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The scenario's constants, as the baseline hard-codes them.
const (
	repeatCount   = 3
	repeatWithin  = 30 * time.Minute
	adCooldown    = 24 * time.Hour
	ruleVersion   = "demo-1"
	smsOfferID    = "gold-upgrade"
	playTimeParse = "2006-01-02 15:04:05"
)

type pair struct{ customer, track int64 }

// baseline is the scenario written the way a Go engineer would without the
// library: one goroutine reading the CSV with encoding/csv, a map of seen
// event ids, HGETALL of the customer per play, a map of recent play times per
// (customer, track), maps of cooldown ends per customer, and one ZADD NX or
// XADD per emission. It relies on plays arriving in event-time order.
type baseline struct {
	rdb    *redis.Client
	prefix string

	seen     map[int64]bool
	recent   map[pair][]time.Time
	adUntil  map[int64]time.Time
	smsUntil map[int64]time.Time
}

func runBaseline(ctx context.Context, rdb *redis.Client, prefix string, plays []byte) (int, error) {
	b := &baseline{rdb: rdb, prefix: prefix, seen: map[int64]bool{}, recent: map[pair][]time.Time{},
		adUntil: map[int64]time.Time{}, smsUntil: map[int64]time.Time{}}
	r := csv.NewReader(bytes.NewReader(plays))
	r.FieldsPerRecord = 6
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		if err := b.play(ctx, rec); err != nil {
			return n, fmt.Errorf("play %d: %w", n, err)
		}
	}
}

func (b *baseline) play(ctx context.Context, rec []string) error {
	eventID, err := strconv.ParseInt(rec[0], 10, 64)
	if err != nil {
		return err
	}
	if b.seen[eventID] {
		return nil
	}
	b.seen[eventID] = true
	customerID, err := strconv.ParseInt(rec[1], 10, 64)
	if err != nil {
		return err
	}
	trackID, err := strconv.ParseInt(rec[2], 10, 64)
	if err != nil {
		return err
	}
	at, err := time.Parse(playTimeParse, rec[3])
	if err != nil {
		return err
	}
	customer, err := b.rdb.HGetAll(ctx, b.prefix+"customer:"+rec[1]).Result()
	if err != nil {
		return err
	}
	em := map[string]any{"customer_id": customerID, "track_id": trackID, "event_id": eventID,
		"rule_version": ruleVersion, "at": at.UnixMilli()}

	// interest: 3 plays of the pair within 30 minutes; a match consumes them.
	k := pair{customerID, trackID}
	var kept []time.Time
	for _, t := range b.recent[k] {
		if at.Sub(t) <= repeatWithin {
			kept = append(kept, t)
		}
	}
	kept = append(kept, at)
	if len(kept) >= repeatCount {
		delete(b.recent, k)
		err := b.rdb.ZAddNX(ctx, b.prefix+"interest:"+rec[1], redis.Z{Score: float64(at.UnixMilli()), Member: rec[2]}).Err()
		if err != nil {
			return err
		}
		if err := b.xadd(ctx, "queue:interest", em, "interest"); err != nil {
			return err
		}
	} else {
		b.recent[k] = kept
	}

	// upgrade_ad and sms_offer: active customers below Gold, 24h cooldown.
	if len(customer) == 0 || customer["status"] != "1" {
		return nil
	}
	level, err := strconv.Atoi(customer["level"])
	if err != nil || level >= 2 {
		return nil
	}
	if !at.Before(b.adUntil[customerID]) {
		b.adUntil[customerID] = at.Add(adCooldown)
		if err := b.xadd(ctx, "queue:ads", em, "upgrade_ad"); err != nil {
			return err
		}
	}
	if customer["pred_event"] == "1" && !at.Before(b.smsUntil[customerID]) {
		b.smsUntil[customerID] = at.Add(adCooldown)
		em["name"] = customer["name"]
		em["offer_id"] = smsOfferID
		if err := b.xadd(ctx, "queue:sms", em, "sms_offer"); err != nil {
			return err
		}
	}
	return nil
}

func (b *baseline) xadd(ctx context.Context, stream string, em map[string]any, rule string) error {
	em["rule"] = rule
	return b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: b.prefix + stream, Values: em}).Err()
}
