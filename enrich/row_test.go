package enrich

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

func TestSplitRow(t *testing.T) {
	cases := []struct {
		line string
		want []string
		err  error
	}{
		{`0,"Gregory Koval",0,"13004 Easy Cider Point"`, []string{"0", "Gregory Koval", "0", "13004 Easy Cider Point"}, nil},
		{`1,"a ""quoted"" word",x`, []string{"1", `a "quoted" word`, "x"}, nil},
		{`1,"Crosby, Stills & Nash",2`, []string{"1", "Crosby, Stills & Nash", "2"}, nil},
		{`a,,b,`, []string{"a", "", "b", ""}, nil},
		{``, []string{""}, nil},
		{`172,Bucks Boogie,Blue Öyster Cult,295`, []string{"172", "Bucks Boogie", "Blue Öyster Cult", "295"}, nil},
		{`326,Helplessly Hoping,"Crosby,195`, nil, ErrUnbalancedQuote},
		{`119,Silver Blue And Gold, Blue And Gold",147`, nil, ErrUnbalancedQuote},
		{`"a"b,c`, nil, errAfterQuote},
	}
	for _, c := range cases {
		got, err := SplitRow(c.line, nil)
		if !errors.Is(err, c.err) {
			t.Errorf("SplitRow(%q) error %v, want %v", c.line, err, c.err)
			continue
		}
		if err == nil && !slices.Equal(got, c.want) {
			t.Errorf("SplitRow(%q) = %q, want %q", c.line, got, c.want)
		}
	}
}

func TestRecoverRow(t *testing.T) {
	got, ok := RecoverRow(`326,Helplessly Hoping,"Crosby,195`, 4, nil)
	if !ok || !slices.Equal(got, []string{"326", "Helplessly Hoping", "Crosby", "195"}) {
		t.Errorf("got %q %v", got, ok)
	}
	got, ok = RecoverRow(`119,Silver Blue And Gold, Blue And Gold",147`, 4, nil)
	if !ok || !slices.Equal(got, []string{"119", "Silver Blue And Gold", " Blue And Gold", "147"}) {
		t.Errorf("got %q %v", got, ok)
	}
	if _, ok := RecoverRow(`1,"a,b,c,d`, 4, nil); ok {
		t.Error("5 parts recovered as 4 columns")
	}
}

func FuzzSplitRow(f *testing.F) {
	for _, s := range []string{
		`0,"Gregory Koval",0,"13004 Easy Cider Point","72132","06/04/2013",1,1,1,0`,
		`326,Helplessly Hoping,"Crosby,195`,
		`1,"a ""b"" c",d`, `"`, `""`, `,`, `"",""`, `"a"b`, `a"b`, "x\xffy", `172,Bucks Boogie,Blue Öyster Cult,295`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fields, err := SplitRow(line, nil)
		if err != nil {
			if rec, ok := RecoverRow(line, 4, nil); ok && len(rec) != 4 {
				t.Fatalf("RecoverRow gave %d fields", len(rec))
			}
			return
		}
		// A parsed row written back and parsed again is the same row.
		again, err := SplitRow(string(AppendRow(nil, fields)), nil)
		if err != nil || !slices.Equal(again, fields) {
			t.Fatalf("round trip of %q: %q (%v), want %q", line, again, err, fields)
		}
	})
}

// fuzzTables are the tables FuzzLoaderRow feeds rows to, with their
// headers: typed and converted columns, a key of two fields, and a table
// without Columns.
var fuzzTables = []struct {
	t      Table
	header string
}{
	{custTable, "CustID,Name,Gender,Address,zip,SignDate,Status,Level,Campaign,LinkedWithApps"},
	{trackTable, "TrackId,Title,Artist,Length"},
	{Table{Name: "typed", Key: "t:{f}:{b}", Columns: []Column{
		{Header: "F", Field: "f", Kind: stream.KindFloat}, {Header: "B", Field: "b", Kind: stream.KindBool},
		{Header: "T", Field: "t", Kind: stream.KindTime}, {Header: "S", Field: "s", Kind: stream.KindString},
	}}, "S,T,B,F"},
	{Table{Name: "any", Key: "any:{{{a}}}:{c}"}, "a,b,c,d"},
}

// FuzzLoaderRow feeds arbitrary lines to the row checks of several tables
// (no Redis: rows go to a batch). A row is either loaded with every value
// of its kind and its key rendered from its fields, or reported; never a
// panic.
func FuzzLoaderRow(f *testing.F) {
	for _, s := range []string{
		`0,"Gregory Koval",0,"13004 Easy Cider Point","72132","06/04/2013",1,1,1,0`,
		`2,"Bad Date",0,"1 Road","11111","02/30/2013",1,2,1,0`,
		`326,Helplessly Hoping,"Crosby,195`, `172,Bucks Boogie,Blue Öyster Cult,295`, "1,\xff,2,3", `,,,`,
		`x,2014-10-01 00:00:00,true,1.5`, `"a,b",2014-10-01T00:00:00Z,0,-3e9`, `x,,1,`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, ft := range fuzzTables {
			var sum Summary
			l := &loader{cfg: LoadConfig{Input: "fuzz", Prefix: "p:"}, t: ft.t, sum: &sum}
			l.cfg.setDefaults()
			if err := l.header(ft.header); err != nil {
				t.Fatal(err)
			}
			b := &batch{}
			ok := l.row(2, line, b)
			if ok != (len(b.cmds) == 1) || ok == (sum.Skipped == 1) {
				t.Fatalf("%s row %q: ok=%v cmds=%d %+v", ft.t.Name, line, ok, len(b.cmds), sum)
			}
			if !ok {
				if len(sum.Reports) != 1 || sum.Reports[0].Line != 2 || sum.Reports[0].Reason == "" {
					t.Fatalf("report %+v", sum.Reports)
				}
				continue
			}
			args := b.cmds[0]
			if len(args) != 2+2*len(l.lay.cols) {
				t.Fatalf("%s: %d HSET arguments for %d columns", ft.t.Name, len(args), len(l.lay.cols))
			}
			key := *args[1].(*string)
			fields := map[string]string{}
			schema := []stream.Field{}
			for i, c := range l.lay.cols {
				name, v := args[2+2*i].(string), *args[3+2*i].(*string)
				if _, err := stream.ParseValue(c.Kind, v); v != "" && err != nil {
					t.Fatalf("%s: field %s = %q loaded: %v", ft.t.Name, name, v, err)
				}
				fields[name] = v
				schema = append(schema, stream.Field{Name: name, Kind: stream.KindString})
			}
			ev := stream.Event{Schema: stream.MustSchema("row", schema...)}
			for _, fd := range schema {
				ev.Fields = append(ev.Fields, stream.String(fields[fd.Name]))
			}
			want, err := stream.MustTemplate(ft.t.Key).Render(&ev)
			if err != nil || key != "p:"+want {
				t.Fatalf("%s: key %q, want p:%q (%v)", ft.t.Name, key, want, err)
			}
			if ft.t.Name == "customer" {
				if _, err := time.Parse(time.DateOnly, fields["sign_date"]); err != nil {
					t.Fatalf("sign_date %q loaded", fields["sign_date"])
				}
			}
		}
	})
}
