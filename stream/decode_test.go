package stream

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDateTimeMatchesTimeParse(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		ts := time.Unix(r.Int64N(4102444800), 0).UTC() // 1970..2100
		s := ts.Format(time.DateTime)
		sec, ok := parseDateTimeSec(s)
		require.True(t, ok, s)
		require.Equal(t, ts.Unix(), sec, s)
	}
	for _, bad := range []string{"", "2014-02-30 00:00:00", "2013-02-29 00:00:00", "2014-13-01 00:00:00",
		"2014-00-10 00:00:00", "2014-10-01 24:00:00", "2014-10-01 00:60:00", "2014-10-01 00:00:60",
		"2014/10/01 00:00:00", "2014-10-01", "2014-10-01 00:00:0x", "20a4-10-01 00:00:00"} {
		_, ok := parseDateTimeSec(bad)
		require.False(t, ok, bad)
	}
	sec, ok := parseDateTimeSec("2016-02-29T23:59:59Z")
	require.True(t, ok)
	require.Equal(t, time.Date(2016, 2, 29, 23, 59, 59, 0, time.UTC).Unix(), sec)
}

func TestSplitCSV(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{in: `a,b,c`, want: []string{"a", "b", "c"}},
		{in: `1,"x, y",3`, want: []string{"1", "x, y", "3"}},
		{in: `"say ""hi""",2`, want: []string{`say "hi"`, "2"}},
		{in: `a,,`, want: []string{"a", "", ""}},
		{in: `""`, want: []string{""}},
		{in: `326,Helplessly Hoping,"Crosby,195`, err: "unbalanced double quote"},
		{in: `a"b,c`, err: "unbalanced double quote"},
		{in: `"a"b,c`, err: "text after a closing quote"},
	}
	for _, c := range cases {
		got, err := splitCSV(c.in, nil)
		if c.err != "" {
			require.EqualError(t, err, c.err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

func TestCheckText(t *testing.T) {
	require.Equal(t, "", checkText("plain, text\twith tab"))
	require.Equal(t, "", checkText("Blue Öyster Cult"))
	require.Equal(t, "invalid UTF-8", checkText("bad \xff\xfe byte"))
	require.Equal(t, "binary data (control byte) in record", checkText("nul\x00byte"))
}

func TestCSVDecoderHeader(t *testing.T) {
	spec := CSVSpec{Name: "clicks", Types: map[string]Kind{"EventID": KindInt, "CustID": KindInt, "Localtime": KindTime},
		TimeField: "Localtime", KeyFields: []string{"CustID"}}
	d, err := NewCSVDecoder(spec).Header("EventID,CustID,AdClicked,Localtime")
	require.NoError(t, err)
	ev := Event{Fields: make([]Value, 4)}
	require.NoError(t, d.Decode(`7,42,"ADV_REDUCED_1DAY","2014-10-02 10:00:00"`, &ev))
	require.Equal(t, "42", ev.Key)
	require.Equal(t, "ADV_REDUCED_1DAY", ev.Get("AdClicked").Str())
	require.Equal(t, time.Date(2014, 10, 2, 10, 0, 0, 0, time.UTC), ev.EventTime())
	require.EqualError(t, d.Decode(`x,42,"A","2014-10-02 10:00:00"`, &ev), `field EventID: "x" is not an integer`)
	require.EqualError(t, d.Decode(`1,42,"A"`, &ev), `3 columns, header has 4`)

	_, err = NewCSVDecoder(spec).Header("EventID,Customer,AdClicked,Localtime")
	require.Error(t, err)
	require.Contains(t, err.Error(), `header: no column "CustID"`)
	require.Contains(t, err.Error(), `header: no key column "CustID"`)
	strict := spec
	strict.Strict = true
	_, err = NewCSVDecoder(strict).Header("EventID,CustID,AdClicked,Localtime")
	require.EqualError(t, err, `header: unknown column "AdClicked"`)
	require.True(t, strings.HasPrefix(spec.Name, "clicks"))
}
