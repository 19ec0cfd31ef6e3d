package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/examples/musicstream/music"
	"github.com/rulestream/rulestream/stream"
)

// libResult is what a library run reports.
type libResult struct {
	events  int64 // events read (duplicates included)
	elapsed time.Duration
	summary string
}

// runLibrary runs the scenario's pipeline (package music) on the plays,
// reading and writing under prefix.
// lanes is Config.Parallelism (0: one lane).
func runLibrary(ctx context.Context, rdb *redis.Client, prefix string, plays io.Reader, batch, lanes int) (libResult, error) {
	sc, err := music.New(rdb, music.Config{Prefix: prefix})
	if err != nil {
		return libResult{}, err
	}
	router, err := sc.Targets() // idempotency markers under the prefix too
	if err != nil {
		return libResult{}, err
	}
	p := stream.New("compare", stream.Config{OutOfOrderness: 5 * time.Minute, Parallelism: lanes})
	src := stream.NewReaderSource("plays", plays, gen.PlayDecoder(), stream.FileConfig{BatchSize: batch})
	p.From(src).ViaPartitioned(sc.Operators).To(router).DeadLetter(stream.SinkFunc(router.Write))
	start := time.Now()
	if err := p.Run(ctx); err != nil {
		return libResult{}, err
	}
	elapsed := time.Since(start)
	st, c := p.Stats(), sc.Counters()
	if st.DeadLetters > 0 || st.Late > 0 {
		return libResult{}, fmt.Errorf("library: %d dead letters, %d late events", st.DeadLetters, st.Late)
	}
	return libResult{events: st.EventsIn, elapsed: elapsed,
		summary: fmt.Sprintf("%d duplicates dropped, %d repeats matches, firings %s", c.Duplicates, c.Matches, music.FormatFirings(c.Firings))}, nil
}

func readerOf(b []byte) io.Reader { return bytes.NewReader(b) }
