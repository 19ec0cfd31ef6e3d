package stream

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/stretchr/testify/require"
)

// lazyDecoder fills the fields but leaves ev.Schema alone, as a user's
// decoder might; schema is what it declares.
type lazyDecoder struct{ schema *Schema }

func (d lazyDecoder) Schema() *Schema { return d.schema }

func (d lazyDecoder) Decode(line string, ev *Event) error {
	ev.Fields[0] = String(line)
	ev.Key = line
	return nil
}

var lineSchema = MustSchema("line", Field{Name: "text", Kind: KindString})

func TestSourcesSetTheDecodersSchema(t *testing.T) {
	out := NewCollectSink()
	p := New("t", Config{})
	p.From(NewReaderSource("in", strings.NewReader("a\nb\n"), lazyDecoder{lineSchema}, FileConfig{})).To(out)
	runPipeline(t, p)
	require.Equal(t, 2, out.Len())
	for _, ev := range out.Events() {
		require.Same(t, lineSchema, ev.Schema)
		require.Equal(t, ev.Key, ev.Get("text").Str(), "fields are readable by name")
	}

	ps := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	require.NoError(t, ps.Publish("lines", message.NewMessage(watermill.NewUUID(), []byte("c"))))
	out = NewCollectSink()
	p = New("wm", Config{})
	p.From(NewSubscriberSource(ps, "lines", lazyDecoder{lineSchema}, SubscriberConfig{})).To(out)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	require.NoError(t, out.WaitFor(ctx, 1))
	require.NoError(t, ps.Close())
	require.NoError(t, <-done)
	require.Same(t, lineSchema, out.Events()[0].Schema)
	require.Equal(t, "c", out.Events()[0].Get("text").Str())
}

func TestSourcesRefuseDecodersWithoutSchema(t *testing.T) {
	const want = "decoder stream.lazyDecoder declares no schema (Schema returns nil)"
	p := New("t", Config{})
	p.From(NewReaderSource("in", strings.NewReader("a\n"), lazyDecoder{}, FileConfig{})).To(Discard)
	err := p.Run(context.Background())
	require.ErrorContains(t, err, "source in: connect: in: "+want)

	src := NewFileSource("missing.csv", lazyDecoder{}, FileConfig{})
	_, err = src.Read(context.Background())
	require.ErrorContains(t, err, "missing.csv: "+want, "refused before the file is opened")
	_, err = NewFileSource("x", nil, FileConfig{}).Read(context.Background())
	require.ErrorContains(t, err, "x: no decoder")

	ps := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	defer ps.Close()
	err = NewSubscriberSource(ps, "lines", lazyDecoder{}, SubscriberConfig{}).Connect(context.Background())
	require.ErrorContains(t, err, "subscriber source lines: "+want)
}

// envRecorder keeps the Env it was started with.
type envRecorder struct {
	OperatorFunc
	env Env
}

func (r *envRecorder) Start(_ context.Context, env Env) error {
	r.env = env
	return nil
}

func passThrough(_ context.Context, in []Event, out *Emitter) error {
	out.EmitAll(in)
	return nil
}

func TestEnvSchemas(t *testing.T) {
	extra := MustSchema("customer", Field{Name: "id", Kind: KindInt})
	run := func(cfg Config, srcs ...Source) Env {
		rec := &envRecorder{OperatorFunc: passThrough}
		p := New("t", cfg)
		for _, s := range srcs {
			p.From(s)
		}
		p.Via(rec).To(Discard)
		runPipeline(t, p)
		return rec.env
	}
	lines := func() Source {
		return NewReaderSource("in", strings.NewReader("a\n"), lazyDecoder{lineSchema}, FileConfig{})
	}
	plays := func() Source {
		return NewReaderSource("plays", strings.NewReader(`1,2,3,"2014-10-01 00:00:00",0,"x"`), testPlayDecoder(), FileConfig{})
	}

	env := run(Config{Schemas: []*Schema{extra, lineSchema}}, lines(), lines())
	require.Same(t, lineSchema, env.Schema, "every source declares the same schema")
	require.Equal(t, []*Schema{lineSchema, extra}, env.Schemas)

	env = run(Config{}, lines(), plays())
	require.Nil(t, env.Schema, "the sources differ")
	require.Equal(t, []*Schema{lineSchema, testPlaySchema}, env.Schemas)

	env = run(Config{}, lines(), NewSliceSource("mem", []Event{{Time: 1}}, 1))
	require.Nil(t, env.Schema, "a source that declares nothing")

	env = run(Config{}, NewReaderSource("csv", strings.NewReader("a\n1\n"), NewCSVDecoder(CSVSpec{}), FileConfig{}))
	require.Nil(t, env.Schema, "a schema from the header is not known at start")

	require.ErrorContains(t, New("t", Config{Schemas: []*Schema{nil}}).From(lines()).Validate(), "Schemas[0] is nil")
}

func TestFileSourceBOM(t *testing.T) {
	in := "\ufeff" + `1,2,3,"2014-10-01 00:00:00",0,"x"` + "\n" + `2,2,3,"2014-10-01 00:00:01",0,"` + "\ufeff" + `"` + "\n"
	for _, chunk := range []int{1, 2, 3, 4, 1 << 10} {
		out, dead := NewCollectSink(), NewCollectSink()
		p := New("t", Config{})
		p.From(NewReaderSource("bom.csv", strings.NewReader(in), testPlayDecoder(), FileConfig{ChunkSize: chunk})).To(out).DeadLetter(dead)
		runPipeline(t, p)
		require.Equal(t, 0, dead.Len(), "chunk %d", chunk)
		require.Equal(t, 2, out.Len())
		require.Equal(t, int64(1), out.Events()[0].Get("event_id").Int())
		require.Equal(t, "\ufeff", out.Events()[1].Get("listening_zip_code").Str(), "only at the start of the file")
	}

	// A BOM before a header.
	dec, err := NewHeaderCSVDecoder(RecordSpec{Schema: lineSchema}, CSVConfig{})
	require.NoError(t, err)
	out := NewCollectSink()
	p := New("t", Config{})
	p.From(NewReaderSource("h.csv", strings.NewReader("\ufefftext\nhello\n"), dec, FileConfig{ChunkSize: 2})).To(out)
	runPipeline(t, p)
	require.Equal(t, 1, out.Len())
	require.Equal(t, "hello", out.Events()[0].Get("text").Str())

	// Only a part of a BOM: a line of its own, rejected as not UTF-8.
	dead := NewCollectSink()
	p = New("t", Config{})
	p.From(NewReaderSource("x.csv", strings.NewReader("\xef\xbb"), testPlayDecoder(), FileConfig{ChunkSize: 1})).To(Discard).DeadLetter(dead)
	runPipeline(t, p)
	require.Equal(t, 1, dead.Len())
	require.Equal(t, "\xef\xbb", dead.Events()[0].Get("raw").Str())
}

func TestRejectsKeepRawBytes(t *testing.T) {
	lines := []string{
		`1,2,3,"9999-12-31 00:00:00",0,"x"`,        // decoded, but out of range
		`1,,3,"2014-10-01 00:00:00",0,"x"`,         // no key
		`1,2,3`,                                    // columns
		"1,2,3,\"2014-10-01 00:00:00\",0,\"\x01\"", // binary
	}
	dead := NewCollectSink()
	p := New("t", Config{})
	p.From(NewReaderSource("r.csv", strings.NewReader(strings.Join(lines, "\n")), testPlayDecoder(), FileConfig{})).To(Discard).DeadLetter(dead)
	runPipeline(t, p)
	require.Equal(t, len(lines), dead.Len())
	for i, d := range dead.Events() {
		require.Equal(t, lines[i], d.Get("raw").Str(), d.Get("reason").Str())
	}
	require.Equal(t, `field datetime: "9999-12-31 00:00:00" is outside the representable time range (1678-01-01 to 2262-04-11)`,
		dead.Events()[0].Get("reason").Str())
	require.Equal(t, `field customer_id: "" is not an integer`, dead.Events()[1].Get("reason").Str())
}
