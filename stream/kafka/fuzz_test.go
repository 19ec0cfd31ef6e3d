package kafka

import (
	"bytes"
	"testing"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

var fuzzSeeds = []string{
	`1,42,7,"2014-10-01 00:00:00",1,"10001"`,
	"1,42,7,\"2014-10-01 00:00:00\",1,\"10001\"\r\n",
	`1,42,7,"2014-02-30 00:00:00",1,"10001"`,
	`1,42`,
	`"1,42,7`,
	"\x00\xff\xfe",
	"",
	"\n",
	`1,42,7,"2014-10-01 00:00:00",2,"Ö"`,
}

// FuzzDecodeMessage: any message value becomes exactly one event or one
// reject naming topic/partition/offset and keeping the raw bytes; nothing
// panics.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		raw := bytes.Clone(v)
		m := &sarama.ConsumerMessage{Topic: "t", Partition: 3, Offset: 77, Value: v}
		b := decodeMessages(gen.PlayDecoder(), []*sarama.ConsumerMessage{m})
		if len(b.Events)+len(b.Rejects) != 1 {
			t.Fatalf("%q: %d events, %d rejects", v, len(b.Events), len(b.Rejects))
		}
		want := stream.Position{Source: "t", Partition: 3, Offset: 77}
		if len(b.Rejects) == 1 {
			r := b.Rejects[0]
			if r.Pos != want || !bytes.Equal(r.Raw, raw) || r.Reason == "" {
				t.Fatalf("%q: reject %+v", v, r)
			}
			return
		}
		ev := b.Events[0]
		if ev.Pos != want || ev.Schema != gen.PlaySchema || len(ev.Fields) != gen.PlaySchema.Len() || ev.Key == "" {
			t.Fatalf("%q: event %+v", v, ev)
		}
	})
}

// FuzzCSVColumn: the key of column 1 is the second column, never contains a comma, and
// the function never panics.
func FuzzCSVColumn(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		k := csvColumn(line, 1)
		if bytes.IndexByte(line, ',') < 0 {
			if k != nil {
				t.Fatalf("%q: key %q without a second column", line, k)
			}
			return
		}
		if bytes.IndexByte(k, ',') >= 0 || !bytes.Contains(line, k) {
			t.Fatalf("%q: key %q", line, k)
		}
	})
}
