package kafka

import (
	"bytes"
	"context"
	"errors"
	"github.com/IBM/sarama"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// TestPipelineConsumesAllAndResumes produces plays keyed by customer,
// consumes them all through a pipeline, then checks that the offsets were
// committed: a second consumer of the group reads only what came after.
func TestPipelineConsumesAllAndResumes(t *testing.T) {
	const topic, group = "plays", "g1"
	c, brokers := newCluster(t, 3, topic)
	ps, csv := plays(3000, 1)
	half := bytes.IndexByte(csv[len(csv)/2:], '\n') + len(csv)/2 + 1
	first := bytes.Count(csv[:half], []byte{'\n'})
	if n := produce(t, brokers, topic, csv[:half]); n != int64(first) {
		t.Fatalf("produced %d, want %d", n, first)
	}
	ctx := testCtx(t, 30*time.Second)
	cfg := testConfig(brokers, topic, group)
	cfg.StopAtEnd = true
	src := newSource(t, cfg)
	sink := stream.NewCollectSink()
	p := stream.New("kafka-test", pipeCfg).From(src).To(sink)
	if err := p.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	evs := sink.Events()
	if len(evs) != first {
		t.Fatalf("consumed %d events, produced %d", len(evs), first)
	}
	checkOrder(t, evs)
	// One customer's plays are in one partition.
	part := map[string]int32{}
	for _, ev := range evs {
		if ev.Pos.Source != topic {
			t.Fatalf("position %v: want topic %s", ev.Pos, topic)
		}
		if p, ok := part[ev.Key]; ok && p != ev.Pos.Partition {
			t.Fatalf("customer %s in partitions %d and %d", ev.Key, p, ev.Pos.Partition)
		}
		part[ev.Key] = ev.Pos.Partition
	}
	// Offsets committed up to the end of each partition.
	gi := c.GroupInfo(group)
	var committed int64
	for p, cm := range gi.Commits[topic] {
		if hw := c.PartitionInfo(topic, p).HighWatermark; cm.Offset != hw {
			t.Errorf("partition %d: committed %d, high-water mark %d", p, cm.Offset, hw)
		}
		committed += cm.Offset
	}
	if committed != int64(first) {
		t.Fatalf("committed offsets sum to %d, want %d", committed, first)
	}
	st := src.Stats()
	if st.Delivered != int64(first) || st.Acked != int64(first) || st.Rebalances < 1 {
		t.Fatalf("stats %+v", st)
	}

	// The second half, read by a new member of the same group.
	produce(t, brokers, topic, csv[half:])
	src2 := newSource(t, cfg)
	sink2 := stream.NewCollectSink()
	if err := stream.New("kafka-test-2", pipeCfg).From(src2).To(sink2).Run(ctx); err != nil {
		t.Fatalf("second run: %v", err)
	}
	second := sink2.Events()
	if len(second) != len(ps)-first {
		t.Fatalf("second consumer read %d events, want %d (resume after the committed offsets)", len(second), len(ps)-first)
	}
	ids := uniqueIDs(evs, second)
	for _, p := range ps {
		if !ids[p.EventID] {
			t.Fatalf("event %d never consumed", p.EventID)
		}
	}
}

// TestMalformedToDeadLetter: bad messages reach the dead-letter sink with
// their topic/partition/offset and raw bytes; good ones flow on.
func TestMalformedToDeadLetter(t *testing.T) {
	const topic = "mixed"
	_, brokers := newCluster(t, 1, topic)
	lines := []string{
		`1,10,100,"2014-10-01 00:00:00",1,"10001"`,
		`2,10,100,"not a date",1,"10001"`,
		"3,10,100,\"2014-10-01 00:00:01\",1,\"1\x0001\"",
		`4,10`,
		`5,11,100,"2014-10-01 00:00:02",0,"10002"`,
	}
	var csv []byte
	for _, l := range lines {
		csv = append(csv, l...)
		csv = append(csv, '\n')
	}
	produce(t, brokers, topic, csv)
	cfg := testConfig(brokers, topic, "dl")
	cfg.StopAtEnd = true
	src := newSource(t, cfg)
	good, dead := stream.NewCollectSink(), stream.NewCollectSink()
	p := stream.New("dl", pipeCfg).From(src).To(good).DeadLetter(dead)
	if err := p.Run(testCtx(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if g := good.Events(); len(g) != 2 || eventID(g[0]) != 1 || eventID(g[1]) != 5 {
		t.Fatalf("good events %v", g)
	}
	d := dead.Events()
	want := []string{"mixed/0/1", "mixed/0/2", "mixed/0/3"}
	if len(d) != len(want) {
		t.Fatalf("%d dead letters, want %d: %v", len(d), len(want), d)
	}
	for i, ev := range d {
		if pos := ev.Get("position").Text(); pos != want[i] {
			t.Errorf("dead letter %d at %s, want %s", i, pos, want[i])
		}
		if raw := ev.Get("raw").Text(); raw != lines[i+1] {
			t.Errorf("dead letter %d raw %q, want %q", i, raw, lines[i+1])
		}
		if ev.Get("reason").Text() == "" {
			t.Errorf("dead letter %d without reason", i)
		}
	}
	if st := src.Stats(); st.Rejected != 3 {
		t.Fatalf("stats rejected %d, want 3", st.Rejected)
	}
}

// TestOnAssignSeeks: the offset OnAssign returns is where reading starts,
// backwards or forwards of the committed offset; an OnAssign error stops
// the source.
func TestOnAssignSeeks(t *testing.T) {
	const topic = "seek"
	_, brokers := newCluster(t, 1, topic)
	_, csv := plays(50, 2)
	produce(t, brokers, topic, csv)
	ctx := testCtx(t, 20*time.Second)
	for _, start := range []int64{30, 5} { // forward, then back behind the commit
		cfg := testConfig(brokers, topic, "seekers")
		cfg.StopAtEnd = true
		cfg.OnAssign = func(_ context.Context, tp string, p int32) (int64, bool, error) {
			return start, tp == topic && p == 0, nil
		}
		src := newSource(t, cfg)
		sink := stream.NewCollectSink()
		if err := stream.New("seek", pipeCfg).From(src).To(sink).Run(ctx); err != nil {
			t.Fatal(err)
		}
		evs := sink.Events()
		if len(evs) != 50-int(start) || evs[0].Pos.Offset != start {
			t.Fatalf("seek to %d: %d events from offset %d", start, len(evs), evs[0].Pos.Offset)
		}
	}

	boom := errors.New("checkpoint store down")
	cfg := testConfig(brokers, topic, "seekers-2")
	cfg.OnAssign = func(context.Context, string, int32) (int64, bool, error) { return 0, false, boom }
	src := newSource(t, cfg)
	_, err := src.Read(ctx)
	var ae *AssignError
	if !errors.As(err, &ae) || !errors.Is(err, boom) || ae.Partition != 0 {
		t.Fatalf("Read error %v, want an AssignError wrapping %v", err, boom)
	}
}

// pipeCfg keeps every event in the stream: partitions start delivering at
// different moments, and a partition's first events would otherwise be
// behind the watermark the others pushed.
var pipeCfg = stream.Config{OutOfOrderness: 100 * 365 * 24 * time.Hour}

func TestConfigValidate(t *testing.T) {
	_, err := NewSource(SourceConfig{})
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, want := range []string{"Brokers", "Topic", "Group"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	_, err = NewSource(SourceConfig{Brokers: []string{"x:1"}, Topic: "t", Group: "g", Decoder: stream.NewCSVDecoder(stream.CSVSpec{})})
	if err == nil || !contains(err.Error(), "Decoder *stream.CSVDecoder is a HeaderDecoder") {
		t.Fatalf("header decoder: %v", err)
	}
	_, err = NewSource(SourceConfig{Brokers: []string{"x:1"}, Topic: "t", Group: "g"})
	if err == nil || !contains(err.Error(), "no Decoder") {
		t.Fatalf("no decoder: %v", err)
	}
	_, err = NewSource(SourceConfig{Brokers: []string{"x:1"}, Topic: "t", Group: "g", Decoder: schemaless{}})
	if err == nil || !contains(err.Error(), "Decoder kafka.schemaless declares no schema") {
		t.Fatalf("decoder without schema: %v", err)
	}
	_, brokers := newCluster(t, 1, "exists")
	src := newSource(t, SourceConfig{Brokers: brokers, Topic: "missing", Group: "g", Decoder: gen.PlayDecoder()})
	if err := src.Connect(context.Background()); err == nil || !contains(err.Error(), "topic missing") {
		t.Fatalf("unknown topic: %v", err)
	}
	if _, err := src.Read(context.Background()); err == nil {
		t.Fatal("Read after a failed Connect")
	}
	_, err = NewSource(SourceConfig{Brokers: []string{"x:1"}, Topic: "t", Group: "g", InitialOffset: 7, Decoder: gen.PlayDecoder()})
	if err == nil {
		t.Fatal("bad InitialOffset accepted")
	}
}

func contains(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestStopAtEndEmptyAndNewest: an empty topic ends at once; a group
// starting at Newest reads nothing of what was there before.
func TestStopAtEndEmptyAndNewest(t *testing.T) {
	_, brokers := newCluster(t, 2, "empty", "old")
	ctx := testCtx(t, 20*time.Second)
	cfg := testConfig(brokers, "empty", "e")
	cfg.StopAtEnd = true
	if _, err := newSource(t, cfg).Read(ctx); !errors.Is(err, stream.ErrEndOfInput) {
		t.Fatalf("empty topic: %v", err)
	}
	_, csv := plays(100, 13)
	produce(t, brokers, "old", csv)
	cfg = testConfig(brokers, "old", "newest")
	cfg.StopAtEnd = true
	cfg.InitialOffset = Newest
	src := newSource(t, cfg)
	if _, err := src.Read(ctx); !errors.Is(err, stream.ErrEndOfInput) {
		t.Fatalf("newest: %v", err)
	}
	if st := src.Stats(); st.Delivered != 0 || len(st.Partitions) != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// schemaless is a decoder that declares no schema.
type schemaless struct{}

func (schemaless) Schema() *stream.Schema                     { return nil }
func (schemaless) Decode(line string, ev *stream.Event) error { return nil }

// lazy declares a schema but does not set ev.Schema itself.
type lazy struct{}

var lineSchema = stream.MustSchema("line", stream.Field{Name: "text", Kind: stream.KindString})

func (lazy) Schema() *stream.Schema { return lineSchema }
func (lazy) Decode(line string, ev *stream.Event) error {
	ev.Fields[0] = stream.String(line)
	return nil
}

func TestDecodeMessagesSetsTheSchema(t *testing.T) {
	b := decodeMessages(lazy{}, []*sarama.ConsumerMessage{{Topic: "t", Value: []byte("hello")}})
	if len(b.Events) != 1 || b.Events[0].Schema != lineSchema || b.Events[0].Get("text").Str() != "hello" {
		t.Fatalf("%+v", b)
	}
	src, err := NewSource(SourceConfig{Brokers: []string{"x:1"}, Topic: "t", Group: "g", Decoder: lazy{}})
	if err != nil {
		t.Fatal(err)
	}
	var ss stream.SchemaSource = src
	if ss.Schema() != lineSchema {
		t.Fatal("the source's schema is the decoder's")
	}
}
