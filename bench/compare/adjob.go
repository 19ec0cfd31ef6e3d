package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/examples/musicstream/music"
	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/checkpoint"
	"github.com/rulestream/rulestream/targets"
	"github.com/rulestream/rulestream/window"
)

// adRules is the ad job as a rule set: upgrade_ad without cooldown.
const adRules = `version: adjob-1
rules:
  - name: upgrade_ad
    description: a play by an active customer below Gold
    when: customer.level < 2 && customer.status == 1
    target: ads
`

// runLibraryAdJob runs the ad job with the library: the plays file, dedup by
// event_id, the customer lookup, the upgrade_ad rule, and a Redis sink
// writing XADD <prefix>queue:ads customer_id track_id event_id.
// With discard, the emissions go to stream.Discard instead (to measure the
// pipeline without its Redis writes).
func runLibraryAdJob(ctx context.Context, rdb *redis.Client, prefix, path string, batch int, lateness time.Duration, discard, checkpointed bool) (libResult, error) {
	env, err := rules.NewEnv(rules.EnvConfig{EventSchema: gen.PlaySchema, Joins: []rules.Join{{Name: "customer", Schema: gen.CustomerSchema}},
		Targets: []string{"ads"}})
	if err != nil {
		return libResult{}, err
	}
	set, err := env.Load("adjob.yaml", []byte(adRules))
	if err != nil {
		return libResult{}, err
	}
	dedup, err := window.NewDedup(window.DedupConfig{Field: "event_id"})
	if err != nil {
		return libResult{}, err
	}
	customer, err := enrich.NewLookup(rdb, music.CustomerLookup(prefix))
	if err != nil {
		return libResult{}, err
	}
	engine, err := rules.NewEngine(set, rules.EngineConfig{IDField: "event_id"})
	if err != nil {
		return libResult{}, err
	}
	ads, err := targets.NewRedis(rdb, targets.Config{Name: "ads", MarkerPrefix: prefix + "rulestream:done:",
		Writes: []targets.Write{targets.XAdd(prefix+"queue:ads", "customer_id", "track_id", "event_id")}})
	if err != nil {
		return libResult{}, err
	}
	router, err := targets.NewRouter(targets.RouterConfig{Routes: map[string][]stream.Sink{"ads": {ads}}})
	if err != nil {
		return libResult{}, err
	}
	cfg := stream.Config{OutOfOrderness: lateness}
	if checkpointed {
		cfg.Checkpoints = checkpoint.NewRedis(rdb, prefix+"checkpoint:")
	}
	p := stream.New("adjob", cfg)
	var sink stream.Sink = router
	if discard {
		sink = stream.Discard
	}
	p.From(stream.NewFileSource(path, gen.PlayDecoder(), stream.FileConfig{BatchSize: batch})).Via(dedup, customer, engine).To(sink)
	start := time.Now()
	if err := p.Run(ctx); err != nil {
		return libResult{}, err
	}
	elapsed := time.Since(start)
	st := p.Stats()
	if st.DeadLetters > 0 || st.Late > 0 {
		return libResult{}, fmt.Errorf("library: %d dead letters, %d late events", st.DeadLetters, st.Late)
	}
	return libResult{events: st.EventsIn, elapsed: elapsed,
		summary: fmt.Sprintf("%d duplicates dropped, %d emitted, %d written", dedup.Stats().Duplicates, st.EventsOut, ads.Stats().Written)}, nil
}
