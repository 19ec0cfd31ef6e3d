package gen

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

func TestPlayDecoder(t *testing.T) {
	dec := PlayDecoder()
	if dec.Schema() != PlaySchema {
		t.Fatal("the decoder's schema is PlaySchema")
	}
	ev := stream.Event{Fields: make([]stream.Value, PlaySchema.Len())}
	if err := dec.Decode(`0,0048,453,"2014-10-23 03:26:20",1,"72132"`, &ev); err != nil {
		t.Fatal(err)
	}
	f := ev.Fields
	if ev.Key != "48" || ev.Time != time.Date(2014, 10, 23, 3, 26, 20, 0, time.UTC).UnixNano() || ev.Schema != PlaySchema ||
		f[PlayEventID].Int() != 0 || f[PlayCustomerID].Int() != 48 || f[PlayTrackID].Int() != 453 ||
		f[PlayDateTime].Nanos() != ev.Time || !f[PlayIsMobile].Bool() || f[PlayZip].Str() != "72132" {
		t.Fatalf("%+v", ev)
	}
	err := dec.Decode(`0,48,453,"2014-10-23 03:26:20",2,"72132"`, &ev)
	if err == nil || err.Error() != `field ismobile: "2" is not a bool (1/0/true/false)` {
		t.Fatalf("ismobile 2: %v", err)
	}
}

// The decoder reads back what WritePlays writes: the events PlayEvents makes.
func TestPlayDecoderReadsWritePlays(t *testing.T) {
	d := Generate(Config{Seed: 3, Plays: 2000})
	var buf bytes.Buffer
	if err := WritePlays(&buf, d.Plays); err != nil {
		t.Fatal(err)
	}
	want := PlayEvents("plays.csv", d.Plays)
	dec := PlayDecoder()
	for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		ev := stream.Event{Fields: make([]stream.Value, PlaySchema.Len())}
		if err := dec.Decode(line, &ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		w := want[i]
		if ev.Key != w.Key || ev.Time != w.Time {
			t.Fatalf("line %d: key %q time %d, want %q %d", i+1, ev.Key, ev.Time, w.Key, w.Time)
		}
		for j := range w.Fields {
			if !ev.Fields[j].Equal(w.Fields[j]) {
				t.Fatalf("line %d field %d: %v, want %v", i+1, j, ev.Fields[j], w.Fields[j])
			}
		}
	}
}
