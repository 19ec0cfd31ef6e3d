package stream_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rulestream/rulestream/stream"
)

func TestTemplate(t *testing.T) {
	ev := emission("ads", "upgrade_ad", 3)
	for _, tc := range []struct{ src, want, err string }{
		{src: "interest:{customer_id}", want: "interest:1003"},
		{src: "q:{rule}:{track_id}", want: "q:upgrade_ad:4"},
		{src: "{$target}/{$key}/{$id}", want: "ads/1003/upgrade_ad:1003:3"},
		{src: "lit{{x}}", want: "lit{x}"},
		{src: "plain", want: "plain"},
		{src: "a:{nope}", err: `has no value for {nope}`},
		{src: "a:{customer_id", err: "offset 2: unclosed '{'"},
		{src: "a:{}", err: "offset 2: bad placeholder {}"},
		{src: "a}", err: "offset 1: unmatched '}'"},
	} {
		tpl, err := stream.ParseTemplate(tc.src)
		if err == nil {
			var got string
			got, err = tpl.Render(&ev)
			if err == nil && got != tc.want {
				t.Errorf("%q rendered %q, want %q", tc.src, got, tc.want)
			}
		}
		if (err != nil) != (tc.err != "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: err = %v, want %q", tc.src, err, tc.err)
		}
	}
	if f := stream.MustTemplate("x:{a}:{b}").Fields(); len(f) != 2 || f[1] != "b" {
		t.Errorf("Fields = %v", f)
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"interest:{customer_id}", "{{}}", "{", "}", "a{b}c{d}", "{$id}", "{{{x}}}", ""} {
		f.Add(s)
	}
	ev := emission("ads", "r", 1)
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := stream.ParseTemplate(s)
		if err != nil {
			if !strings.Contains(err.Error(), "offset") {
				t.Fatalf("error without offset: %v", err)
			}
			return
		}
		if tpl.String() != s {
			t.Fatalf("String() = %q", tpl.String())
		}
		out, err := tpl.Render(&ev)
		if err == nil && tpl.Static() && strings.ContainsAny(out, "{}") != strings.ContainsAny(s, "{}") {
			t.Fatalf("static %q rendered %q", s, out)
		}
		_ = stream.Null()
	})
}

// emission is an event of the kind templates are filled from: customer
// 1000+i, track i+1, event i.
func emission(target, rule string, i int) stream.Event {
	schema := stream.MustSchema("emission",
		stream.Field{Name: "customer_id", Kind: stream.KindInt}, stream.Field{Name: "track_id", Kind: stream.KindInt},
		stream.Field{Name: "event_id", Kind: stream.KindInt}, stream.Field{Name: "rule", Kind: stream.KindString})
	cust := int64(1000 + i)
	return stream.Event{Key: fmt.Sprint(cust), Schema: schema, Target: target, ID: fmt.Sprintf("%s:%d:%d", rule, cust, i),
		Fields: []stream.Value{stream.Int(cust), stream.Int(int64(i + 1)), stream.Int(int64(i)), stream.String(rule)}}
}
