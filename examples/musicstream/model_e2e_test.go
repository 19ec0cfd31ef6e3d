package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/examples/musicstream/music"
	"github.com/stretchr/testify/require"
)

// TestEndToEndAdScore trains and publishes the ad-response model, then runs
// the example with a rule reading ad_score(customer) from the live model,
// and checks queue:sms against the model's own scores.
func TestEndToEndAdScore(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	bin := buildBinary(t)
	ctx := context.Background()

	d := gen.Generate(gen.Config{Seed: 9, Plays: 20000, Customers: 500, Tracks: 200, MeanGap: 30 * time.Second, Duplicates: 0.01, MaxDelay: time.Minute})
	var cust bytes.Buffer
	require.NoError(t, gen.WriteCustomers(&cust, d.Customers))
	_, err := music.LoadCustomers(ctx, rdb, &cust, enrich.LoadConfig{Prefix: prefix})
	require.NoError(t, err)

	clicks, _ := gen.Clicks(d, gen.ClickConfig{})
	clicked := map[int64]bool{}
	for _, c := range clicks {
		if c.AdClicked == "ADV_REDUCED_1DAY" {
			clicked[c.CustID] = true
		}
	}
	b := model.NewBuilder()
	for _, p := range d.Plays {
		b.AddPlay(p)
	}
	rows := b.Rows(clicked)
	res, err := model.Train(rows, model.TrainConfig{Seed: 1})
	require.NoError(t, err)
	_, err = model.Publish(ctx, rdb, res, rows, model.PublishConfig{Prefix: prefix, Threshold: 0.2})
	require.NoError(t, err)

	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(`version: scored-1
rules:
  - name: sms_scored
    when: customer.level < 2 && customer.status == 1 && ad_score(customer) > 0.5
    target: sms
    cooldown: 24h
    payload: '{"name": customer.name, "offer_id": "gold-upgrade"}'
`), 0o644))
	var plays bytes.Buffer
	require.NoError(t, gen.WritePlays(&plays, d.Plays))
	playsPath := filepath.Join(dir, "plays.csv")
	require.NoError(t, os.WriteFile(playsPath, plays.Bytes(), 0o644))
	runBinary(t, bin, "-once", "-tracks", playsPath, "-rules", rulesPath, "-redis", url, "-prefix", prefix, "-progress", "off")

	// Independently: the model's score of each customer's features.
	live, err := model.Load(ctx, rdb, prefix)
	require.NoError(t, err)
	byID := map[int64]gen.Customer{}
	for _, c := range d.Customers {
		byID[c.ID] = c
	}
	want := map[string]bool{}
	for _, p := range firstPerDay(uniqueInOrder(d.Plays), func(p gen.Play) bool {
		c := byID[p.CustomerID]
		f, ok := b.Features(p.CustomerID)
		return c.Level < 2 && c.Status == 1 && ok && live.Score(f) > 0.5
	}) {
		want[strconv.FormatInt(p.EventID, 10)] = true
	}
	require.NotEmpty(t, want, "the model selects some customers")
	got := map[string]bool{}
	for _, e := range readStream(t, rdb, prefix+"queue:sms") {
		got[e["event_id"].(string)] = true
		require.Equal(t, "gold-upgrade", e["offer_id"])
		require.Equal(t, byID[atoi(t, e["customer_id"].(string))].Name, e["name"])
	}
	require.Equal(t, want, got)
}
