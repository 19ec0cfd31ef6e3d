package job

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// An emission a target cannot write (a JSON event lacking the field of its
// key template, a payload reading an unset field) is dead-lettered; the
// others are written.
func TestGuardDeadLettersWhatTargetsCannotWrite(t *testing.T) {
	j := mustParse(t, `input:
  path: x.jsonl
  format: json
  fields: {id: int, user: string, country: string, t: time}
  time: t
  id: id
  key: user
rules:
  - name: each
    when: "true"
    target: by_country
targets:
  - name: by_country
    type: set
    key: "c:{country}"
    member: user
`)
	if g := j.newGuard(); g == nil || strings.Join(g.fields["by_country"], ",") != "country" {
		t.Fatalf("guard %+v", g)
	}
	csv := mustParse(t, withBase(""))
	if g := csv.newGuard(); g != nil {
		t.Fatalf("CSV fields are never null: guard %+v", g)
	}
	b, err := j.Build(BuildConfig{Redis: deadRedis(t)})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := b.Operators(stream.PartitionID{Partition: -1})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(id int64, country stream.Value) stream.Event {
		return stream.Event{Key: "u", Time: t0.UnixNano(), Schema: j.Schema, Pos: stream.Position{Source: "x.jsonl", Partition: -1, Offset: id, Line: true},
			Fields: []stream.Value{stream.Int(id), stream.String("u"), country, stream.Time(t0)}}
	}
	out, dead := stream.NewCollectSink(), stream.NewCollectSink()
	p := stream.New("g", stream.Config{})
	p.From(stream.NewSliceSource("in", []stream.Event{ev(1, stream.String("fr")), ev(2, stream.Null())}, 0)).Via(ops...).To(out).DeadLetter(dead)
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 1 || out.Events()[0].Get("country").Str() != "fr" {
		t.Fatalf("written %v", out.Events())
	}
	if dead.Len() != 1 || !strings.Contains(dead.Events()[0].Get("reason").Str(), "target by_country: each:u:2: field country is null") {
		t.Fatalf("dead letters %v", dead.Events())
	}
}
