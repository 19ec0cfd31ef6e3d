package analytics

import (
	"fmt"
	"testing"

	"github.com/rulestream/rulestream/stream"
)

func TestFewCountsAggregate(t *testing.T) {
	var f fewAgg
	var a, b fewCounts
	for _, v := range []stream.Value{stream.String("1"), stream.String("unknown"), stream.String("1"), stream.Int(1)} {
		a = f.Add(a, v)
	}
	b = f.Add(b, stream.String("2"))
	m := f.Merge(a, b)
	if got := fmt.Sprint(f.toMap(m)); got != `map[1:1 "1":2 "2":1 "unknown":1]` {
		t.Errorf("merged %s", got)
	}
	dec, err := f.Decode(f.Encode(m))
	if err != nil || string(f.Encode(dec)) != string(f.Encode(m)) {
		t.Fatalf("round trip: %v", err)
	}
	if string(f.Result(m).Str()) == "" || f.Result(nil).Str() != "" {
		t.Error("Result")
	}
}

func TestCountsAggregate(t *testing.T) {
	var f countsAgg
	var a, b countAcc
	for _, v := range []stream.Value{stream.String("10001"), stream.String("10001"), stream.Int(7), stream.String("7")} {
		a = f.Add(a, v)
	}
	b = f.Add(b, stream.String("10002"))
	m := f.Merge(a, b)
	dec, err := f.Decode(f.Encode(m))
	if err != nil || fmt.Sprint(toMap(dec)) != fmt.Sprint(toMap(m)) {
		t.Fatalf("round trip: %v %v, want %v", toMap(dec), err, toMap(m))
	}
	if string(f.Encode(dec)) != string(f.Encode(m)) {
		t.Error("Encode is not deterministic")
	}
	sums := map[string]int64{}
	if err := decodeResult(f.Result(m).Str(), func(k string, n int64) { sums[k] += n }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sums) != "map[10001:2 10002:1 7:2]" {
		t.Errorf("result %v", sums)
	}
	for _, bad := range []string{"\x05ab", "\x01a", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"} {
		if err := decodeResult(bad, func(string, int64) {}); err == nil {
			t.Errorf("decodeResult(%q) accepted", bad)
		}
	}
	for _, bad := range [][]byte{{byte(stream.KindNull), 0, 2}, {byte(stream.KindInt), 1, 'x', 2}, {byte(stream.KindString), 9}} {
		if _, err := f.Decode(bad); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}
