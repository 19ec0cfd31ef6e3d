// Command benthos runs the ad job on Benthos (github.com/redpanda-data/benthos/v4):
// its csv input, its dedupe processor on a memory cache, a Redis customer
// lookup and a Redis XADD output written as plugins on its public/service API
// (its core has no Redis components), and a bloblang filter keeping the plays
// of active customers below Gold.
//
//	benthos -input plays.csv -redis 127.0.0.1:6379 -prefix bench:peer: [-tuned]
//
// Without -tuned it runs Benthos's defaults (input batch_count 1, pipeline
// threads -1, output max_in_flight 64, no output batching); -tuned applies
// the performance advice of its documentation: input batches, pipeline
// threads, output batching and max_in_flight. It prints one JSON line:
// {"events":N,"written":W,"seconds":S}.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// config is the stream; the tuned settings are filled in by -tuned.
const config = `
input:
  csv:
    paths: [ %q ]
    parse_header_row: false
    batch_count: %d
pipeline:
  threads: %d
  processors:
    - dedupe:
        cache: seen
        key: '${! this.index(0) }'
    - redis_customer: {}
    - mapping: 'root = if @status == "1" && @level.or(2) < 2 { this } else { deleted() }'
output:
  redis_xadd:
    max_in_flight: %d
    batching:
      count: %d
      period: %s
cache_resources:
  - label: seen
    memory:
      default_ttl: 24h
logger:
  level: ERROR
`

func main() {
	input := flag.String("input", "", "plays CSV (positional demo schema, no header)")
	addr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	prefix := flag.String("prefix", "", "key prefix: reads <prefix>customer:<id>, writes <prefix>queue:ads")
	tuned := flag.Bool("tuned", false, "apply the documented tuning (batches, threads, max_in_flight)")
	threads := flag.Int("threads", 0, "with -tuned: pipeline threads (default: GOMAXPROCS)")
	batch := flag.Int("batch", 1000, "with -tuned: input and output batch size")
	inFlight := flag.Int("max-in-flight", 8, "with -tuned: output max_in_flight")
	flag.Parse()
	if err := run(*input, *addr, *prefix, *tuned, *threads, *batch, *inFlight); err != nil {
		fmt.Fprintln(os.Stderr, "benthos:", err)
		os.Exit(1)
	}
}

func run(input, addr, prefix string, tuned bool, threads, batch, inFlight int) error {
	data, err := os.ReadFile(input)
	if err != nil {
		return err
	}
	events := bytes.Count(data, []byte{'\n'})
	// Defaults: one message per input batch, threads -1 (one per CPU),
	// max_in_flight 64, no output batching.
	conf := fmt.Sprintf(config, input, 1, -1, 64, 0, `""`)
	if tuned {
		if threads <= 0 {
			threads = -1
		}
		conf = fmt.Sprintf(config, input, batch, threads, inFlight, batch, "10ms")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 128})
	defer rdb.Close()
	var written atomic.Int64
	env := service.NewEnvironment()
	if err := registerPlugins(env, rdb, prefix, &written); err != nil {
		return err
	}
	b := env.NewStreamBuilder()
	if err := b.SetYAML(conf); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	stream, err := b.Build()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := stream.Run(context.Background()); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"events": events, "written": written.Load(), "seconds": time.Since(start).Seconds()})
}
