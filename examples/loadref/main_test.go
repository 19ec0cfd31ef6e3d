package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/examples/musicstream/music"
	"github.com/rulestream/rulestream/internal/testredis"
)

func TestRunLoadsGeneratedFiles(t *testing.T) {
	client, prefix := testredis.Client(t, 1)
	addr := client.Options().Addr
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 1, Customers: 300, Tracks: 40, Plays: -1})
	write := func(name string, fn func(f *os.File) error) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := fn(f); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cust := write("cust.csv", func(f *os.File) error { return gen.WriteCustomers(f, d.Customers) })
	music := write("music.csv", func(f *os.File) error { return gen.WriteMusic(f, d.Tracks) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, "redis://"+addr+"/1", cust, music, enrich.LoadConfig{Prefix: prefix}, nil); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 340 {
		t.Errorf("%d keys, want 340", len(keys))
	}
	for _, c := range d.Customers {
		h := client.HGetAll(ctx, prefix+"customer:"+strconv.FormatInt(c.ID, 10)).Val()
		want := map[string]string{
			"id": strconv.FormatInt(c.ID, 10), "name": c.Name, "gender": strconv.Itoa(c.Gender), "address": c.Address,
			"zip": c.Zip, "sign_date": c.SignDate.Format("2006-01-02"), "status": strconv.Itoa(c.Status),
			"level": strconv.Itoa(c.Level), "campaign": strconv.Itoa(c.Campaign), "linked_with_apps": strconv.Itoa(c.LinkedWithApps),
		}
		if !equal(h, want) {
			t.Fatalf("customer %d: %v, want %v", c.ID, h, want)
		}
	}
	for _, tr := range d.Tracks {
		h := client.HGetAll(ctx, prefix+"track:"+strconv.FormatInt(tr.ID, 10)).Val()
		want := map[string]string{"id": strconv.FormatInt(tr.ID, 10), "title": tr.Title, "artist": tr.Artist, "length": strconv.Itoa(tr.Length)}
		if !equal(h, want) {
			t.Fatalf("track %d: %v, want %v", tr.ID, h, want)
		}
	}
	if err := run(ctx, "127.0.0.1:1", cust, "", enrich.LoadConfig{}, nil); err == nil {
		t.Error("unreachable Redis gave no error")
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRunLoadsSharedData loads the original demo's files: every customer,
// and every track of music.csv, the 20 lines with an unbalanced quote
// recovered one by one (with -strict: skipped, 1,730 loaded).
func TestRunLoadsSharedData(t *testing.T) {
	cust, music := "../../../shared/data/cust.csv", "../../../shared/data/music.csv"
	for _, p := range []string{cust, music} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not present: %v", p, err)
		}
	}
	client, prefix := testredis.Client(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wantLines := []int64{121, 165, 328, 329, 330, 332, 333, 334, 482, 483, 485, 486, 604, 626, 832, 929, 1094, 1204, 1454, 1580}
	for _, strict := range []bool{false, true} {
		var out strings.Builder
		var reports []enrich.RowReport
		cfg := enrich.LoadConfig{Prefix: prefix + strconv.FormatBool(strict) + ":", Strict: strict, Progress: &out,
			OnReport: func(r enrich.RowReport) { reports = append(reports, r) }}
		if err := run(ctx, "redis://"+client.Options().Addr+"/1", cust, music, cfg, nil); err != nil {
			t.Fatal(err)
		}
		summary := music + ": loaded 1750, skipped 0, recovered 20, "
		if strict {
			summary = music + ": loaded 1730, skipped 20, recovered 0, "
		}
		if got := out.String(); !strings.Contains(got, cust+": loaded 5000, skipped 0, recovered 0, ") || !strings.Contains(got, summary) {
			t.Errorf("strict %v: output\n%s", strict, got)
		}
		var lines []int64
		for _, r := range reports {
			if r.Input != music || r.Recovered == strict {
				t.Errorf("strict %v: report %v", strict, r)
			}
			lines = append(lines, r.Line)
		}
		if !slices.Equal(lines, wantLines) {
			t.Errorf("strict %v: reported lines %v, want %v", strict, lines, wantLines)
		}
	}
	ctx2 := context.Background()
	if h := client.HGetAll(ctx2, prefix+"false:customer:0").Val(); h["name"] != "Gregory Koval" || h["sign_date"] != "2013-06-04" || h["level"] != "1" || h["zip"] != "72132" {
		t.Errorf("customer:0 = %v", h)
	}
	for id, w := range map[string][2]string{
		"326": {"Helplessly Hoping", "Crosby"}, "327": {"Long Time Gone", "David Crosby"},
		"172": {"Bucks Boogie", "Blue Öyster Cult"}, "1162": {"Silent Lucidity", "Queensrÿche"}, "170": {" The Reaper", "Blue Oyster Cult"},
	} {
		h := client.HGetAll(ctx2, prefix+"false:track:"+id).Val()
		if h["title"] != w[0] || h["artist"] != w[1] {
			t.Errorf("track:%s = %v, want title %q artist %q", id, h, w[0], w[1])
		}
	}
}

// TestDemoTablesBadRows checks the demo's table on bad rows: each is
// skipped with the reason the loader has always given.
func TestDemoTablesBadRows(t *testing.T) {
	client, prefix := testredis.Client(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	input := strings.Join([]string{
		"CustID,Name,Gender,Address,zip,SignDate,Status,Level,Campaign,LinkedWithApps",
		`0,"Ann",0,"1 Road","11111","06/04/2013",1,2,1,0`,
		`x1,"Bad Id",0,"1 Road","11111","06/04/2013",1,2,1,0`,
		`2,"Bad Date",0,"1 Road","11111","02/30/2013",1,2,1,0`,
		`3,"Short",0`,
		"",
		"4,\"Bin\x01ary\",0,\"1 Road\",\"11111\",\"06/04/2013\",1,2,1,0",
		"5,\"Bad \xff UTF\",0,\"1 Road\",\"11111\",\"06/04/2013\",1,2,1,0",
		`6,"Open quote,0,"1 Road","11111","06/04/2013",1,2,1,0`,
		`7,"Long ` + strings.Repeat("x", 300) + `",0,"1 Road","11111","06/04/2013",1,2,1,0`,
		"8,\"Bob\",1,\"2 Road\",\"22222\",\"12/31/2012\",0,0,4,1\r",
		`9,"Neg",-1,"1 Road","11111","06/04/2013",1,2,1,0`,
		`10,"Iso",1,"1 Road","11111","2013-06-04",1,2,1,0`,
		`11,"Bad fmt",1,"1 Road","11111","6/4/2013",1,2,1,0`,
		`12,"Two bad",1,"1 Road","11111","6/4/2013",x,2,1,0`,
	}, "\n")
	sum, err := music.LoadCustomers(ctx, client, strings.NewReader(input), enrich.LoadConfig{Prefix: prefix, MaxLineSize: 200, Input: "bad.csv"})
	if err != nil || sum.Loaded != 3 || sum.Skipped != 10 || sum.Recovered != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
	want := []string{
		`bad.csv:3: skipped: CustID "x1" is not a non-negative integer`,
		`bad.csv:4: skipped: SignDate "02/30/2013" is not a valid date`,
		`bad.csv:5: skipped: 3 columns, want 10`,
		`bad.csv:7: skipped: control byte in row`,
		`bad.csv:8: skipped: invalid UTF-8`,
		`bad.csv:9: skipped: text after a closing quote`,
		`bad.csv:10: skipped: line longer than 200 bytes`,
		`bad.csv:12: skipped: Gender "-1" is not a non-negative integer`,
		`bad.csv:14: skipped: SignDate "6/4/2013" is not MM/DD/YYYY`,
		`bad.csv:15: skipped: Status "x" is not a non-negative integer`,
	}
	var got []string
	for _, r := range sum.Reports {
		got = append(got, r.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("reports\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for id, date := range map[string]string{"0": "2013-06-04", "8": "2012-12-31", "10": "2013-06-04"} {
		if h := client.HGetAll(ctx, prefix+"customer:"+id).Val(); len(h) != 10 || h["sign_date"] != date {
			t.Errorf("customer:%s = %v", id, h)
		}
	}
}
