package enrich

import (
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

// visitSchema is the events of the key template tests.
var visitSchema = stream.MustSchema("visit",
	stream.Field{Name: "user_id", Kind: stream.KindInt},
	stream.Field{Name: "country", Kind: stream.KindString},
	stream.Field{Name: "city", Kind: stream.KindString},
)

func visit(user stream.Value, country, city string) stream.Event {
	v := func(s string) stream.Value {
		if s == "<null>" {
			return stream.Null()
		}
		return stream.String(s)
	}
	return stream.Event{Schema: visitSchema, Pos: stream.Position{Source: "visits", Offset: 1, Line: true},
		Fields: []stream.Value{user, v(country), v(city)}}
}

// TestLookupKeyTemplates joins through templates of one and several
// placeholders; an event lacking a placeholder's value, or whose hash does
// not exist, is dead-lettered with a reason naming the field or the key.
func TestLookupKeyTemplates(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
	for key, name := range map[string]string{
		"geo:FR:Paris": "Paris", "geo:FR:Lyon": "Lyon", "{geo}:FR:Paris": "braced", "user:7:FR": "seven in France", "user:7": "seven",
	} {
		if err := client.HSet(ctx, prefix+key, "name", name).Err(); err != nil {
			t.Fatal(err)
		}
	}
	noUser := stream.Event{Schema: stream.MustSchema("place", stream.Field{Name: "country", Kind: stream.KindString}, stream.Field{Name: "city", Kind: stream.KindString}),
		Fields: []stream.Value{stream.String("FR"), stream.String("Paris")}}
	cases := []struct {
		name, key string
		ev        stream.Event
		want      string // the joined name, or the dead-letter reason
	}{
		{"two fields", "geo:{country}:{city}", visit(stream.Int(1), "FR", "Paris"), "Paris"},
		{"two fields, other", "geo:{country}:{city}", visit(stream.Int(1), "FR", "Lyon"), "Lyon"},
		{"literal braces", "{{geo}}:{country}:{city}", visit(stream.Int(1), "FR", "Paris"), "braced"},
		{"int and string", "user:{user_id}:{country}", visit(stream.Int(7), "FR", "Paris"), "seven in France"},
		{"one int field", "user:{user_id}", visit(stream.Int(7), "FR", "Paris"), "seven"},
		{"one string field", "user:{country}", visit(stream.Int(7), "7", "Paris"), "seven"},
		{"no hash", "geo:{country}:{city}", visit(stream.Int(1), "FR", "Nice"), "enrich place: no hash " + prefix + "geo:FR:Nice"},
		{"no hash, one field", "user:{user_id}", visit(stream.Int(8), "FR", "Paris"), "enrich place: no hash " + prefix + "user:8"},
		{"null", "geo:{country}:{city}", visit(stream.Int(1), "FR", "<null>"), "enrich place: no city"},
		{"empty", "geo:{country}:{city}", visit(stream.Int(1), "", "Paris"), "enrich place: no country"},
		{"null, one field", "user:{user_id}", visit(stream.Null(), "FR", "Paris"), "enrich place: no user_id"},
		{"absent field", "user:{user_id}:{country}", noUser, "enrich place: no user_id"},
		{"absent field, one field", "user:{user_id}", noUser, "enrich place: no user_id"},
	}
	schema := stream.MustSchema("place", stream.Field{Name: "name", Kind: stream.KindString})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := NewLookup(client, LookupConfig{Name: "place", Key: prefix + c.key, Schema: schema, Unknown: DeadLetterUnknown})
			if err != nil {
				t.Fatal(err)
			}
			for round := range 2 { // the second from the cache
				var out stream.Emitter
				if err := l.Process(ctx, []stream.Event{c.ev}, &out); err != nil {
					t.Fatal(err)
				}
				got := ""
				if evs := out.Events(); len(evs) == 1 {
					rec, _ := evs[0].Joined("place")
					got = rec.Get("name").Str()
				}
				if dl := out.DeadLetters(); len(dl) == 1 {
					got = dl[0].Reason
				}
				if got != c.want {
					t.Errorf("round %d: got %q, want %q", round, got, c.want)
				}
			}
		})
	}
}

// TestLookupSeveralFieldsOneFetchPerKey fetches each distinct key of a
// batch once, and caches by the whole key.
func TestLookupSeveralFieldsOneFetchPerKey(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
	client.HSet(ctx, prefix+"geo:FR:Paris", "name", "Paris")
	hook := &countHook{}
	client.AddHook(hook)
	schema := stream.MustSchema("place", stream.Field{Name: "name", Kind: stream.KindString})
	l, err := NewLookup(client, LookupConfig{Name: "place", Key: prefix + "geo:{country}:{city}", Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	evs := []stream.Event{visit(stream.Int(1), "FR", "Paris"), visit(stream.Int(2), "FR", "Paris"), visit(stream.Int(3), "FR", "Nice")}
	process(t, l, evs)
	if n := hook.hmgets.Load(); n != 2 {
		t.Errorf("%d HMGETs, want 2", n)
	}
	pipelines := hook.pipelines.Load()
	process(t, l, evs)
	if p := hook.pipelines.Load(); p != pipelines {
		t.Errorf("a batch of cached keys went to Redis")
	}
	for _, k := range []string{"geo:FR:Paris", "geo:FR:Nice"} {
		if n := hook.perKey[prefix+k]; n != 1 {
			t.Errorf("%s fetched %d times", k, n)
		}
	}
	if rec, ok := l.Cache().Get(prefix + "geo:FR:Paris"); !ok || rec.Get("name").Str() != "Paris" {
		t.Errorf("cache entry %v %v", rec, ok)
	}
	if rec, ok := l.Cache().Get(prefix + "geo:FR:Nice"); !ok || rec != nil {
		t.Errorf("negative cache entry %v %v", rec, ok)
	}
}

func TestLookupConfigValidate(t *testing.T) {
	schema := stream.MustSchema("r", stream.Field{Name: "x", Kind: stream.KindString})
	good := LookupConfig{Name: "r", Key: "r:{id}", Schema: schema}
	cases := []struct {
		name   string
		change func(*LookupConfig)
		want   string // in the error; "" for none
	}{
		{"valid", func(*LookupConfig) {}, ""},
		{"several fields", func(c *LookupConfig) { c.Key = "geo:{country}:{city}" }, ""},
		{"braces", func(c *LookupConfig) { c.Key = "{{r}}:{id}" }, ""},
		{"no name", func(c *LookupConfig) { c.Name = "" }, "Name is required"},
		{"no key", func(c *LookupConfig) { c.Key = "" }, "Key is required"},
		{"no placeholder", func(c *LookupConfig) { c.Key = "customer" }, `key "customer" has no placeholder`},
		{"only braces", func(c *LookupConfig) { c.Key = "{{id}}" }, "has no placeholder"},
		{"special", func(c *LookupConfig) { c.Key = "q:{$target}:{id}" }, "{$target} is not allowed"},
		{"unclosed", func(c *LookupConfig) { c.Key = "r:{id" }, "unclosed"},
		{"no schema", func(c *LookupConfig) { c.Schema = nil }, "Schema is required"},
		{"policy", func(c *LookupConfig) { c.Unknown = 7 }, "not a policy"},
	}
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never used
	defer client.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.change(&cfg)
			_, err := NewLookup(client, cfg)
			if c.want == "" {
				if err != nil || cfg.Validate() != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one with %q", err, c.want)
			}
		})
	}
}

func TestLookupFieldsAndCheckSchema(t *testing.T) {
	cfg := LookupConfig{Name: "geo", Key: "geo:{country}:{city}:{zip}"}
	if got := cfg.Fields(); !slices.Equal(got, []string{"country", "city", "zip"}) {
		t.Errorf("Fields() = %q", got)
	}
	if err := cfg.CheckSchema(visitSchema); err == nil || !strings.Contains(err.Error(), "reads zip, which events of schema visit lack (have user_id,country,city)") {
		t.Errorf("CheckSchema: %v", err)
	}
	cfg.Key = "geo:{country}:{city}"
	if err := cfg.CheckSchema(visitSchema); err != nil {
		t.Errorf("CheckSchema: %v", err)
	}
	if got := (LookupConfig{Key: "bad:{"}).Fields(); got != nil {
		t.Errorf("Fields of a bad key = %q", got)
	}
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never used
	defer client.Close()
	cfg.Schema = visitSchema
	l, err := NewLookup(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Fields(); !slices.Equal(got, []string{"country", "city"}) {
		t.Errorf("Lookup.Fields() = %q", got)
	}
}

// schemaSource is a SliceSource that declares its events' schema.
type schemaSource struct {
	*stream.SliceSource
	schema *stream.Schema
}

func (s schemaSource) Schema() *stream.Schema { return s.schema }

// TestLookupStartChecksInputSchema refuses, before any event, a lookup
// whose key reads a field the pipeline's input schema lacks.
func TestLookupStartChecksInputSchema(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never used
	defer client.Close()
	schema := stream.MustSchema("place", stream.Field{Name: "name", Kind: stream.KindString})
	for key, want := range map[string]string{
		"geo:{country}:{town}": "enrich: lookup place: key \"geo:{country}:{town}\" reads town, which events of schema visit lack (have user_id,country,city)",
		"geo:{country}:{city}": "",
	} {
		l, err := NewLookup(client, LookupConfig{Name: "place", Key: key, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Start(testCtx(t), stream.Env{}); err != nil {
			t.Errorf("%s: Start with no schema: %v", key, err)
		}
		src := schemaSource{stream.NewSliceSource("visits", nil, 0), visitSchema}
		err = stream.New("p", stream.Config{}).From(src).Via(l).To(stream.NewCollectSink()).Run(testCtx(t))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: run error %v, want %q", key, err, want)
		}
	}
}

func TestKeyAround(t *testing.T) {
	for key, want := range map[string][2]string{
		"customer:{customer_id}":   {"customer:", ""},
		"app:{id}:profile":         {"app:", ":profile"},
		"{id}":                     {"", ""},
		"{{a}}:{x}:{y}:{{b}}":      {"{a}:", ":{b}"},
		"geo:{country}:{city}:end": {"geo:", ":end"},
		"0:{id}:1":                 {"0:", ":1"},
		"{x}{x}":                   {"", ""},
	} {
		p, s := keyAround(stream.MustTemplate(key))
		if p != want[0] || s != want[1] {
			t.Errorf("keyAround(%q) = %q, %q; want %q, %q", key, p, s, want[0], want[1])
		}
	}
}
