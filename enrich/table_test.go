package enrich

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

func TestTableValidate(t *testing.T) {
	cols := []Column{{Header: "Id", Field: "id", Kind: stream.KindInt}, {Header: "Name"}}
	cases := []struct {
		name string
		t    Table
		want []string // in the error; none for a valid table
	}{
		{"valid", Table{Name: "p", Key: "p:{id}", Columns: cols}, nil},
		{"field defaults to header", Table{Name: "p", Key: "p:{id}:{Name}", Columns: cols}, nil},
		{"all columns", Table{Name: "p", Key: "p:{anything}"}, nil},
		{"no name", Table{Key: "p:{id}", Columns: cols}, []string{"Table.Name is required"}},
		{"no key", Table{Name: "p", Columns: cols}, []string{"table p: Key is required"}},
		{"no placeholder", Table{Name: "p", Key: "p", Columns: cols}, []string{`key "p" has no placeholder`}},
		{"special", Table{Name: "p", Key: "p:{$id}", Columns: cols}, []string{"{$id} is not allowed"}},
		{"bad template", Table{Name: "p", Key: "p:{id}}", Columns: cols}, []string{"unmatched '}'"}},
		{"key field not written", Table{Name: "p", Key: "p:{Id}", Columns: cols}, []string{`Key "p:{Id}" reads field "Id", which no column writes (fields id,Name)`}},
		{"several errors", Table{Name: "p", Key: "p:{id}", Columns: []Column{
			{Header: "Id", Field: "id"}, {Header: " id ", Field: "x"}, {Field: "y"}, {Header: "A", Field: "id"}, {Header: "B", Kind: 9},
		}}, []string{`column "id" listed twice`, "column 2 has no Header", `field "id" written by two columns`, `column "B": kind(9) is not a kind`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.t.Validate()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestLoadTableHeaderErrors checks the header against the table before any
// row is written (the client reaches no server).
func TestLoadTableHeaderErrors(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	typed := Table{Name: "p", Key: "p:{id}", Columns: []Column{{Header: "Id", Field: "id"}, {Header: "Name"}, {Header: "Level", Kind: stream.KindInt}}}
	cases := []struct {
		name, input string
		t           Table
		header      bool   // errors.Is(err, ErrHeader)
		want        string // in the error; "" for none
	}{
		{"matched loosely", "\ufeff id ,NAME, level \r\n", typed, false, ""},
		{"extra columns", "X,Level,Name,Y,Id\n", typed, false, ""},
		{"missing column", "Id,Name,Zip\n", typed, true, `p:1: header lacks a required column "Level" (have Id,Name,Zip)`},
		{"empty input", "", typed, true, "p: empty input"},
		{"bad header", "Id,\"Name\n", typed, false, "p:1: header: unbalanced double quote"},
		{"all columns", "a,b,c\n", Table{Name: "p", Key: "p:{a}:{c}"}, false, ""},
		{"all columns, key field missing", "a,b,c\n", Table{Name: "p", Key: "p:{id}"}, true, `header lacks a required column for key "p:{id}": no column "id" (have a,b,c)`},
		{"all columns, unnamed", "a,,c\n", Table{Name: "p", Key: "p:{a}"}, false, "header column 2 has no name (have a,,c)"},
		{"all columns, twice", "a,b,a\n", Table{Name: "p", Key: "p:{a}"}, false, `header names "a" twice`},
		{"invalid table", "Id\n", Table{Name: "p", Key: "p"}, false, "has no placeholder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sum, err := LoadTable(testCtx(t), client, strings.NewReader(c.input), c.t, LoadConfig{Input: "p"})
			if c.want == "" {
				if err != nil || sum.Loaded != 0 {
					t.Fatalf("%+v %v", sum, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrHeader) != c.header {
				t.Fatalf("error %v; want one with %q (ErrHeader %v)", err, c.want, c.header)
			}
		})
	}
}

// TestLoadTableTypedColumns loads rows whose values are checked by kind and
// converted; the bad ones are reported with the column and the value.
func TestLoadTableTypedColumns(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
	upper := func(s string) (string, error) {
		if strings.ToUpper(s) != s {
			return "", fmt.Errorf("%q is not upper case", s)
		}
		return strings.TrimSpace(s), nil
	}
	tb := Table{Name: "item", Key: "item:{code}:{n}", Columns: []Column{
		{Header: "Code", Field: "code", Convert: upper}, {Header: "N", Field: "n", Kind: stream.KindInt},
		{Header: "Ratio", Field: "ratio", Kind: stream.KindFloat}, {Header: "Flag", Field: "flag", Kind: stream.KindBool},
		{Header: "At", Field: "at", Kind: stream.KindTime}, {Header: "Note", Field: "note", Kind: stream.KindString},
	}}
	input := strings.Join([]string{
		"Code,N,Ratio,Flag,At,Note,Ignored",
		`A,1,0.5,true,2014-10-01 00:00:00,"a, note",x`,
		`B ,-2,1e3,0,2014-10-01T12:00:00Z,,x`,
		`C,003,,,,,`,
		`d,4,1,1,2014-10-01 00:00:00,,`,
		`E,x,1,1,2014-10-01 00:00:00,,`,
		`F,6,one,1,2014-10-01 00:00:00,,`,
		`G,7,1,yes,2014-10-01 00:00:00,,`,
		`H,8,1,1,2014-13-01 00:00:00,,`,
		`I,,1,1,2014-10-01 00:00:00,,`,
		`,10,1,1,2014-10-01 00:00:00,,`,
	}, "\n")
	sum, err := LoadTable(ctx, client, strings.NewReader(input), tb, LoadConfig{Prefix: prefix, Input: "items.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Loaded != 3 || sum.Skipped != 7 || sum.Table != "item" {
		t.Fatalf("%+v", sum)
	}
	want := []string{
		`items.csv:5: skipped: Code "d" is not upper case`,
		`items.csv:6: skipped: N "x" is not an integer`,
		`items.csv:7: skipped: Ratio "one" is not a number`,
		`items.csv:8: skipped: Flag "yes" is not a bool (1/0/true/false)`,
		`items.csv:9: skipped: At "2014-13-01 00:00:00" is not a time (YYYY-MM-DD hh:mm:ss or RFC 3339)`,
		`items.csv:10: skipped: N is empty: key item:{code}:{n} needs it`,
		`items.csv:11: skipped: Code is empty: key item:{code}:{n} needs it`,
	}
	for i, r := range sum.Reports {
		if i >= len(want) || r.String() != want[i] {
			t.Errorf("report %d: %q", i, r.String())
		}
	}
	// An int column is written (and keys the row) in canonical decimal: the
	// key a lookup builds from the event's int 3 finds "003".
	for key, fields := range map[string]map[string]string{
		"item:A:1":  {"code": "A", "n": "1", "ratio": "0.5", "flag": "true", "at": "2014-10-01 00:00:00", "note": "a, note"},
		"item:B:-2": {"code": "B", "n": "-2", "ratio": "1e3", "flag": "0", "at": "2014-10-01T12:00:00Z", "note": ""},
		"item:C:3":  {"code": "C", "n": "3", "ratio": "", "flag": "", "at": "", "note": ""},
	} {
		if got := client.HGetAll(ctx, prefix+key).Val(); !maps.Equal(got, fields) {
			t.Errorf("%s = %v, want %v", key, got, fields)
		}
	}
}

// TestLoadTableAllColumns loads every header column as a string field,
// under a key of two of them, with a summary line as the demo's loads have.
func TestLoadTableAllColumns(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
	var progress strings.Builder
	input := "country, city ,population\nFR,Paris,2102650\nFR,Lyon,520774\nFR,,0\n"
	sum, err := LoadTable(ctx, client, strings.NewReader(input), Table{Name: "city", Key: "city:{country}:{city}"},
		LoadConfig{Prefix: prefix, Input: "cities.csv", Progress: &progress, Clock: &stepClock{}})
	if err != nil || sum.Loaded != 2 || sum.Skipped != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	if got := progress.String(); !strings.HasPrefix(got, "cities.csv: loaded 2, skipped 1, recovered 0, ") || !strings.HasSuffix(got, "s\n") {
		t.Errorf("progress %q", got)
	}
	if got := client.HGetAll(ctx, prefix+"city:FR:Lyon").Val(); !maps.Equal(got, map[string]string{"country": "FR", "city": "Lyon", "population": "520774"}) {
		t.Errorf("city:FR:Lyon = %v", got)
	}
	if r := sum.Reports[0]; r.Line != 4 || r.Reason != "city is empty: key city:{country}:{city} needs it" {
		t.Errorf("report %v", r)
	}
}

// TestLoadTableContextEnds stops a load whose context has ended.
func TestLoadTableContextEnds(t *testing.T) {
	client, prefix := testClient(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	_, err := LoadTable(ctx, client, strings.NewReader("a\n1\n"), Table{Name: "x", Key: "x:{a}"}, LoadConfig{Prefix: prefix})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
}
