package stream

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// testPlaySchema has the shape of the demo's plays (gen.PlaySchema, which
// this package's tests cannot import).
var testPlaySchema = MustSchema("play",
	Field{Name: "event_id", Kind: KindInt},
	Field{Name: "customer_id", Kind: KindInt},
	Field{Name: "track_id", Kind: KindInt},
	Field{Name: "datetime", Kind: KindTime},
	Field{Name: "ismobile", Kind: KindBool},
	Field{Name: "listening_zip_code", Kind: KindString},
)

var testPlaySpec = RecordSpec{Schema: testPlaySchema, TimeField: "datetime", KeyFields: []string{"customer_id"}}

var testPlayColumns = []string{"event_id", "customer_id", "track_id", "datetime", "ismobile", "listening_zip_code"}

// testPlayDecoder decodes the demo's positional play lines, as gen.PlayDecoder.
func testPlayDecoder() *ColumnsDecoder {
	d, err := NewColumnsDecoder(testPlaySpec, testPlayColumns)
	if err != nil {
		panic(err)
	}
	return d
}

func TestColumnsDecoder(t *testing.T) {
	d := testPlayDecoder()
	require.Same(t, testPlaySchema, d.Schema())
	good := `0,48,453,"2014-10-23 03:26:20",0,"72132"`
	ev := Event{Fields: make([]Value, testPlaySchema.Len())}
	require.NoError(t, d.Decode(good, &ev))
	require.Same(t, testPlaySchema, ev.Schema)
	require.Equal(t, "48", ev.Key)
	require.Equal(t, unsafe.StringData(good[2:]), unsafe.StringData(ev.Key), "a canonical key shares the line")
	require.Equal(t, time.Date(2014, 10, 23, 3, 26, 20, 0, time.UTC), ev.EventTime())
	require.Equal(t, int64(453), ev.Get("track_id").Int())
	require.False(t, ev.Get("ismobile").Bool())
	require.Equal(t, "72132", ev.Get("listening_zip_code").Str())
	require.NoError(t, d.Decode(`1,0048,453,"2014-10-23 03:26:20",true,"72132"`, &ev))
	require.Equal(t, "48", ev.Key, "the key is the canonical customer id")
	require.True(t, ev.Get("ismobile").Bool())
	require.NoError(t, d.Decode(`1,-7,-453,2014-10-23T03:26:20Z,1,`, &ev))
	require.Equal(t, "-7", ev.Key)
	require.Equal(t, "", ev.Get("listening_zip_code").Str())

	// A decoder fills an event whose Fields are too short.
	var bare Event
	require.NoError(t, d.Decode(good, &bare))
	require.Len(t, bare.Fields, 6)

	bad := map[string]string{
		`0,48,453,"2014-10-23 03:26:20",0`:          `5 columns, want 6 (event_id,customer_id,track_id,datetime,ismobile,listening_zip_code)`,
		`0,48,453,"2014-10-23 03:26:20",0,"1",x`:    `7 columns, want 6 (event_id,customer_id,track_id,datetime,ismobile,listening_zip_code)`,
		`x,48,453,"2014-10-23 03:26:20",0`:          `5 columns, want 6 (event_id,customer_id,track_id,datetime,ismobile,listening_zip_code)`,
		`x,48,453,"2014-10-23 03:26:20",0,"72132"`:  `field event_id: "x" is not an integer`,
		`0,,453,"2014-10-23 03:26:20",0,"72132"`:    `field customer_id: "" is not an integer`,
		`0,48,45.3,"2014-10-23 03:26:20",0,"72132"`: `field track_id: "45.3" is not an integer`,
		`0,48,453,"2014-02-30 03:26:20",0,"72132"`:  `field datetime: "2014-02-30 03:26:20" is not a time (YYYY-MM-DD hh:mm:ss or RFC 3339)`,
		`0,48,453,"9999-12-31 00:00:00",0,"72132"`:  `field datetime: "9999-12-31 00:00:00" is outside the representable time range (1678-01-01 to 2262-04-11)`,
		`0,48,453,"2014-10-23 03:26:20",2,"72132"`:  `field ismobile: "2" is not a bool (1/0/true/false)`,
		`0,48,453,"2014-10-23 03:26:20,0,"72132"`:   `text after a closing quote`,
		`0,48,453,"2014-10-23 03:26:20",0,"72132`:   `unbalanced double quote`,
		`x,48,453,"2014-10-23 03:26:20",0,"72132`:   `unbalanced double quote`,
	}
	for line, want := range bad {
		ev := Event{Fields: make([]Value, testPlaySchema.Len())}
		require.EqualError(t, d.Decode(line, &ev), want, line)
	}
}

func TestColumnsDecoderKeysAndSkips(t *testing.T) {
	sc := MustSchema("click",
		Field{Name: "user", Kind: KindString},
		Field{Name: "ad", Kind: KindInt},
		Field{Name: "at", Kind: KindTime},
		Field{Name: "price", Kind: KindFloat},
	)
	d, err := NewColumnsDecoder(RecordSpec{Schema: sc, TimeField: "at", KeyFields: []string{"user", "ad"},
		TimeFormats: map[string]TimeFormat{"at": MustParseTimeFormat("unix_ms")}}, []string{"_", "user", "", "ad", "at", "price"})
	require.NoError(t, err)
	ev := Event{Fields: make([]Value, sc.Len())}
	require.NoError(t, d.Decode(`x,"ann, jr",y,007,1412157600123,2.5`, &ev))
	require.Equal(t, "ann, jr|7", ev.Key)
	require.Equal(t, time.UnixMilli(1412157600123).UnixNano(), ev.Time)
	require.Equal(t, 2.5, ev.Get("price").Float())
	require.EqualError(t, d.Decode(`x,"",y,7,1412157600123,2.5`, &ev), "key field user is empty")
	require.EqualError(t, d.Decode(`x,a,y,7,1412157600123,z`, &ev), `field price: "z" is not a number`)
	require.EqualError(t, d.Decode(`x,a,y,7,253402214400000,1`, &ev), `field at: "253402214400000" is outside the representable time range (1678-01-01 to 2262-04-11)`)

	// One string key shares the line; no time field leaves time 0.
	d, err = NewColumnsDecoder(RecordSpec{Schema: sc, KeyFields: []string{"user"}}, []string{"user", "ad", "at", "price"})
	require.NoError(t, err)
	ev = Event{Fields: make([]Value, sc.Len())}
	require.NoError(t, d.Decode(`bob,1,2014-10-01 00:00:00,1`, &ev))
	require.Equal(t, "bob", ev.Key)
	require.Equal(t, int64(0), ev.Time)
	require.EqualError(t, d.Decode(`,1,2014-10-01 00:00:00,1`, &ev), "key field user is empty")
}

func TestNewColumnsDecoderErrors(t *testing.T) {
	cases := []struct {
		spec    RecordSpec
		columns []string
		want    []string
	}{
		{RecordSpec{}, testPlayColumns, []string{"columns decoder: record spec: no schema"}},
		{testPlaySpec, nil, []string{"columns decoder: no columns"}},
		{RecordSpec{Schema: testPlaySchema, TimeField: "when"}, testPlayColumns, []string{`time field "when" is not in schema play`}},
		{RecordSpec{Schema: testPlaySchema, TimeField: "event_id"}, testPlayColumns, []string{`time field "event_id" has kind int, want time`}},
		{RecordSpec{Schema: testPlaySchema, KeyFields: []string{"cust", "track_id", "track_id"}}, testPlayColumns,
			[]string{`key field "cust" is not in schema play`, `key field "track_id" named twice`}},
		{RecordSpec{Schema: testPlaySchema, TimeFormats: map[string]TimeFormat{"zip": {}, "track_id": {}}}, testPlayColumns,
			[]string{`time format of "zip": no such field in schema play`, `time format of "track_id": the field has kind int, not time`}},
		{testPlaySpec, []string{"event_id", "customer_id", "track", "datetime", "ismobile", "event_id"},
			[]string{`column 3: "track" is not a field of schema play`, `column 6: field "event_id" is already column 1`,
				`field "track_id" has no column`, `field "listening_zip_code" has no column`}},
	}
	for _, c := range cases {
		_, err := NewColumnsDecoder(c.spec, c.columns)
		require.Error(t, err)
		for _, w := range c.want {
			require.Contains(t, err.Error(), w)
		}
	}
	require.NoError(t, testPlaySpec.Validate())
	require.EqualError(t, RecordSpec{Schema: testPlaySchema, TimeField: "x"}.Validate(), `record spec: time field "x" is not in schema play`)
}

func TestCSVDecoderDeclaredSchema(t *testing.T) {
	sc := MustSchema("clicks",
		Field{Name: "EventID", Kind: KindInt},
		Field{Name: "CustID", Kind: KindInt},
		Field{Name: "Localtime", Kind: KindTime},
	)
	spec := RecordSpec{Schema: sc, TimeField: "Localtime", KeyFields: []string{"CustID"}}
	d, err := NewHeaderCSVDecoder(spec, CSVConfig{})
	require.NoError(t, err)
	require.Same(t, sc, d.Schema(), "the schema is known before the header")
	require.EqualError(t, d.Decode("1,2,3", &Event{}), "CSV decoder used before its header")

	hd, err := d.Header("\ufeff Localtime , AdClicked,CustID,EventID")
	require.NoError(t, err)
	require.Same(t, sc, hd.Schema())
	ev := Event{Fields: make([]Value, sc.Len())}
	require.NoError(t, hd.Decode(`"2014-10-02 10:00:00","ADV_REDUCED_1DAY",42,7`, &ev))
	require.Equal(t, []Value{Int(7), Int(42), TimeNanos(ns(2014, 10, 2, 10, 0, 0, 0))}, ev.Fields)
	require.Equal(t, "42", ev.Key)
	require.Equal(t, ns(2014, 10, 2, 10, 0, 0, 0), ev.Time)
	require.EqualError(t, hd.Decode(`"2014-10-02 10:00:00","A",42`, &ev), "3 columns, header has 4")
	require.EqualError(t, hd.Decode(`"2014-10-02 10:00:00","A",,7`, &ev), `field CustID: "" is not an integer`)

	_, err = d.Header("EventID,Customer,Localtime")
	require.EqualError(t, err, `header: no column "CustID" (header: EventID,Customer,Localtime)`)
	_, err = d.Header("EventID,CustID,Localtime,CustID")
	require.EqualError(t, err, `header: columns 2 and 4 are both "CustID"`)

	strict, err := NewHeaderCSVDecoder(spec, CSVConfig{Strict: true})
	require.NoError(t, err)
	_, err = strict.Header("EventID,CustID,AdClicked,Localtime")
	require.EqualError(t, err, `header: column "AdClicked" is not a field of schema clicks`)

	_, err = NewHeaderCSVDecoder(RecordSpec{Schema: sc, KeyFields: []string{"Cust"}}, CSVConfig{})
	require.EqualError(t, err, `CSV decoder: record spec: key field "Cust" is not in schema clicks`)
}

// FuzzColumnsDecoder: any line decodes to a consistent event or an error;
// a decoded event's fields re-encode to a line that decodes to the same.
func FuzzColumnsDecoder(f *testing.F) {
	for _, s := range []string{
		`0,48,453,"2014-10-23 03:26:20",0,"72132"`,
		`1,2,3,"2014-02-29 00:00:00",1,"x"`,
		`1,0048,3,2014-10-23T03:26:20Z,true,"a""b"`,
		`a,b`, `"`, `,,,,,`, "\xff\x00", `1,2,3,"9999-10-23 03:26:20",0,"72""132"`,
	} {
		f.Add(s)
	}
	d := testPlayDecoder()
	f.Fuzz(func(t *testing.T, line string) {
		ev := Event{Fields: make([]Value, testPlaySchema.Len())}
		err := d.Decode(line, &ev)
		cells, serr := splitCSV(line, nil)
		if serr != nil || len(cells) != len(testPlayColumns) {
			if err == nil {
				t.Fatalf("%q decoded, but splitCSV says %d cells, %v", line, len(cells), serr)
			}
			return
		}
		if err != nil {
			return
		}
		if ev.Get("listening_zip_code").Str() != cells[5] {
			t.Fatalf("%q: zip %q, splitCSV says %q", line, ev.Get("listening_zip_code").Str(), cells[5])
		}
		cust := ev.Get("customer_id")
		if ev.Schema != testPlaySchema || ev.Key != cust.Text() || ev.Time != ev.Get("datetime").Nanos() {
			t.Fatalf("inconsistent event from %q: %+v", line, ev)
		}
		if ev.Time < MinTimeNanos {
			t.Fatalf("%q: time %d out of range", line, ev.Time)
		}
		var b []byte
		for i, v := range ev.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			if v.Kind() == KindString {
				b = append(b, '"')
				b = append(b, strings.ReplaceAll(v.Str(), `"`, `""`)...)
				b = append(b, '"')
				continue
			}
			b = v.AppendText(b)
		}
		again := Event{Fields: make([]Value, testPlaySchema.Len())}
		if err := d.Decode(string(b), &again); err != nil {
			t.Fatalf("%q re-encoded as %q: %v", line, b, err)
		}
		for i := range ev.Fields {
			if !ev.Fields[i].Equal(again.Fields[i]) {
				t.Fatalf("%q re-encoded as %q: field %d %v != %v", line, b, i, ev.Fields[i], again.Fields[i])
			}
		}
	})
}
