package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
)

var rateRE = regexp.MustCompile(`time: ([0-9.]+)s \(([0-9]+) events/s\)`)

// runForRate runs the example in process and returns the events/s of its
// summary (the pipeline's own time, loading excluded).
func runForRate(b *testing.B, args ...string) float64 {
	b.Helper()
	o, err := parseFlags(args, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), o, &out, &bytes.Buffer{}); err != nil {
		b.Fatal(err, out.String())
	}
	m := rateRE.FindStringSubmatch(out.String())
	if m == nil {
		b.Fatalf("no rate in %q", out.String())
	}
	rate, _ := strconv.ParseFloat(m[2], 64)
	return rate
}

// BenchmarkOnceGenerated is the whole binary's -once run over generated
// plays (1M with -benchtime 1000000x) against a real redis-server.
//
//	RULESTREAM_TEST_REDIS=127.0.0.1:6379 go test -run '^$' -bench OnceGenerated -benchtime 1000000x ./examples/musicstream
func BenchmarkOnceGenerated(b *testing.B) {
	url, _, prefix := testRedis(b)
	b.ResetTimer()
	rate := runForRate(b, "-once", "-quiet", "-progress", "off", "-events", strconv.Itoa(b.N), "-redis", url, "-prefix", prefix)
	b.ReportMetric(rate, "events/s")
}

// BenchmarkKafkaEndToEnd reads b.N plays from a kfake broker (6 partitions)
// through the full rule set into Redis, checkpointing every second.
//
//	RULESTREAM_TEST_REDIS=127.0.0.1:6379 go test -run '^$' -bench KafkaEndToEnd -benchtime 500000x ./examples/musicstream
func BenchmarkKafkaEndToEnd(b *testing.B) {
	url, _, prefix := testRedis(b)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "plays"), kfake.GroupMinSessionTimeout(200*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	d := gen.Generate(gen.Config{Seed: 3, Plays: b.N, Repeats: b.N / 500, Duplicates: 0.01, MaxDelay: time.Minute})
	var buf bytes.Buffer
	if err := gen.WritePlays(&buf, d.Plays); err != nil {
		b.Fatal(err)
	}
	if _, err := kafka.ProduceLines(context.Background(), c.ListenAddrs(), "plays", &buf, kafka.ProducerConfig{Key: kafka.CSVColumn(1)}); err != nil {
		b.Fatal(err)
	}
	var cust bytes.Buffer
	if err := gen.WriteCustomers(&cust, d.Customers); err != nil {
		b.Fatal(err)
	}
	custPath := b.TempDir() + "/cust.csv"
	if err := os.WriteFile(custPath, cust.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	rate := runForRate(b, "-once", "-quiet", "-progress", "off", "-kafka", strings.Join(c.ListenAddrs(), ","), "-group", "bench",
		"-customers", custPath, "-redis", url, "-prefix", prefix, "-checkpoint-interval", "1s", "-kafka-session-timeout", "1s")
	b.ReportMetric(rate, "events/s")
}
