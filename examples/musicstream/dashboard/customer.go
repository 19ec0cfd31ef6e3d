package dashboard

import (
	"context"
	"fmt"
	"time"
)

// CustomerState is what /api/customer/<id> returns: the customer's
// record, recent plays, interest list and target entries, each bounded and
// paged (see Customer).
type CustomerState struct {
	ID      string            `json:"id"`
	Time    time.Time         `json:"time"`
	Profile map[string]string `json:"profile"` // customer:<id>'s fields; empty when no such hash
	// Plays is a page of plays:<id>, newest first.
	Plays PlayPage `json:"plays"`
	// Summary is over every play plays:<id> holds (at most Keep).
	Summary PlaySummary `json:"summary"`
	// Interest is a page of interest:<id>, newest first.
	Interest InterestPage `json:"interest"`
	// Ads and SMS are the customer's entries among the newest of queue:ads
	// and queue:sms.
	Ads QueueScan `json:"ads"`
	SMS QueueScan `json:"sms"`
	// Recorder is the recorder's bound and counters; null when the
	// dashboard was given none (Config.Plays).
	Recorder *RecorderStats `json:"recorder"`
	// PageSize is how many rows a section shows at a time
	// (Config.PageSize).
	PageSize int      `json:"pageSize"`
	Errors   []string `json:"errors"`
}

// Customer reads the customer page's data for id: the record, the first
// page of each section and the summary. Read errors are reported in
// CustomerState.Errors; what could be read is still returned.
func (d *Dashboard) Customer(ctx context.Context, id string, now time.Time) CustomerState {
	cs := CustomerState{ID: id, Time: now.UTC(), Profile: map[string]string{}, PageSize: d.cfg.PageSize, Errors: []string{}}
	fail := func(err error) {
		cs.Errors = append(cs.Errors, err.Error())
		d.cfg.Logger.Warn("dashboard: read failed", "error", err)
	}
	var err error
	if cs.Profile, err = d.profile(ctx, id); err != nil {
		fail(err)
	}
	if cs.Plays, err = d.plays(ctx, id, 0, d.cfg.PageSize); err != nil {
		fail(err)
	}
	if cs.Summary, err = d.playSummary(ctx, id); err != nil {
		fail(err)
	}
	if cs.Interest, err = d.interest(ctx, id, 0, d.cfg.PageSize); err != nil {
		fail(err)
	}
	if cs.Ads, err = d.scanQueue(ctx, "queue:ads", id, "", d.cfg.PageSize); err != nil {
		fail(err)
	}
	if cs.SMS, err = d.scanQueue(ctx, "queue:sms", id, "", d.cfg.PageSize); err != nil {
		fail(err)
	}
	if d.cfg.Plays != nil {
		st := d.cfg.Plays.Stats()
		cs.Recorder = &st
	}
	return cs
}

// profileFields are the fields of customer:<id> shown: the loader's
// (music.CustomerTable), age_band, and what adsmodel publishes. A fixed
// list, so that the read is bounded whatever the hash holds.
var profileFields = []string{"name", "gender", "address", "zip", "sign_date", "status", "level", "campaign",
	"linked_with_apps", "age_band", "pred_event", "ad_features"}

func (d *Dashboard) profile(ctx context.Context, id string) (map[string]string, error) {
	key := d.cfg.Prefix + "customer:" + id
	vals, err := d.cfg.Redis.HMGet(ctx, key, profileFields...).Result()
	if err != nil {
		return map[string]string{}, fmt.Errorf("dashboard: read %s: %w", key, err)
	}
	out := map[string]string{}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[profileFields[i]] = s
		}
	}
	return out, nil
}
