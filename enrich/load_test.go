package enrich

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// stepClock moves one second forward at every Now: progress lines become
// due at every batch, deterministically.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func (c *stepClock) NewTicker(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }

func countKeys(t *testing.T, client *redis.Client, pattern string) int {
	t.Helper()
	n := 0
	iter := client.Scan(testCtx(t), 0, pattern, 1000).Iterator()
	for iter.Next(testCtx(t)) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLoadGenerated(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
	d, cust, music := genFiles(t, gen.Config{Seed: 7, Customers: 2500, Tracks: 400, Plays: -1})
	var progress bytes.Buffer
	cfg := LoadConfig{Prefix: prefix, BatchSize: 300, Progress: &progress, Clock: &stepClock{}, Input: "cust.csv"}
	for run := 0; run < 2; run++ { // the second run must change nothing
		sum, err := LoadTable(ctx, client, bytes.NewReader(cust), custTable, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Loaded != 2500 || sum.Skipped != 0 || sum.Recovered != 0 {
			t.Fatalf("run %d: %+v", run, sum)
		}
		if n := countKeys(t, client, prefix+"customer:*"); n != 2500 {
			t.Fatalf("run %d: %d customer keys, want 2500", run, n)
		}
	}
	for _, c := range d.Customers {
		h := client.HGetAll(ctx, prefix+"customer:"+strconv.FormatInt(c.ID, 10)).Val()
		want := map[string]string{
			"id": strconv.FormatInt(c.ID, 10), "name": c.Name, "gender": strconv.Itoa(c.Gender), "address": c.Address,
			"zip": c.Zip, "sign_date": c.SignDate.Format("2006-01-02"), "status": strconv.Itoa(c.Status),
			"level": strconv.Itoa(c.Level), "campaign": strconv.Itoa(c.Campaign), "linked_with_apps": strconv.Itoa(c.LinkedWithApps),
		}
		if !mapsEqual(h, want) {
			t.Fatalf("customer %d: %v, want %v", c.ID, h, want)
		}
	}
	out := progress.String()
	if !strings.Contains(out, "rows written") || !strings.Contains(out, "cust.csv: loaded 2500, skipped 0, recovered 0,") {
		t.Errorf("progress output:\n%s", out)
	}
	sum, err := LoadTable(ctx, client, bytes.NewReader(music), trackTable, LoadConfig{Prefix: prefix})
	if err != nil || sum.Loaded != 400 || sum.Skipped != 0 {
		t.Fatalf("tracks: %+v %v", sum, err)
	}
	for _, tr := range d.Tracks {
		h := client.HGetAll(ctx, prefix+"track:"+strconv.FormatInt(tr.ID, 10)).Val()
		want := map[string]string{"id": strconv.FormatInt(tr.ID, 10), "title": tr.Title, "artist": tr.Artist, "length": strconv.Itoa(tr.Length)}
		if !mapsEqual(h, want) {
			t.Fatalf("track %d: %v, want %v", tr.ID, h, want)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
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

func TestLoadSharedData(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
	t.Run("cust.csv", func(t *testing.T) {
		sum, err := LoadTableFile(ctx, client, sharedData(t, "cust.csv"), custTable, LoadConfig{Prefix: prefix})
		if err != nil || sum.Loaded != 5000 || sum.Skipped != 0 {
			t.Fatalf("%+v %v", sum, err)
		}
		h := client.HGetAll(ctx, prefix+"customer:0").Val()
		if h["name"] != "Gregory Koval" || h["sign_date"] != "2013-06-04" || h["level"] != "1" || h["zip"] != "72132" {
			t.Errorf("customer:0 = %v", h)
		}
	})
	t.Run("music.csv", func(t *testing.T) {
		path := sharedData(t, "music.csv")
		sum, err := LoadTableFile(ctx, client, path, trackTable, LoadConfig{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		// 1730 clean rows and 20 with an unbalanced quote, each recovered
		// on its own line: nothing merged, nothing lost.
		if sum.Loaded != 1750 || sum.Recovered != 20 || sum.Skipped != 0 {
			t.Fatalf("%+v", sum)
		}
		var lines []int64
		for _, r := range sum.Reports {
			if !r.Recovered || r.Input != path {
				t.Errorf("report %v", r)
			}
			lines = append(lines, r.Line)
		}
		want := []int64{121, 165, 328, 329, 330, 332, 333, 334, 482, 483, 485, 486, 604, 626, 832, 929, 1094, 1204, 1454, 1580}
		if !slices.Equal(lines, want) {
			t.Errorf("recovered lines %v, want %v", lines, want)
		}
		checks := map[string][2]string{
			"326": {"Helplessly Hoping", "Crosby"}, "327": {"Long Time Gone", "David Crosby"},
			"172": {"Bucks Boogie", "Blue Öyster Cult"}, "175": {"I Love the Night", "Blue Öyster Cult"},
			"1162": {"Silent Lucidity", "Queensrÿche"}, "170": {" The Reaper", "Blue Oyster Cult"},
		}
		for id, w := range checks {
			h := client.HGetAll(ctx, prefix+"track:"+id).Val()
			if h["title"] != w[0] || h["artist"] != w[1] {
				t.Errorf("track:%s = %v, want title %q artist %q", id, h, w[0], w[1])
			}
		}
		strict, err := LoadTableFile(ctx, client, path, trackTable, LoadConfig{Prefix: prefix + "strict:", Strict: true})
		if err != nil || strict.Loaded != 1730 || strict.Skipped != 20 {
			t.Fatalf("strict: %+v %v", strict, err)
		}
		if r := strict.Reports[0]; r.Line != 121 || r.Recovered || !strings.Contains(r.Reason, "unbalanced") {
			t.Errorf("first strict report %v", r)
		}
	})
}

func TestLoadBadRows(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
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
	}, "\n")
	var reported []RowReport
	sum, err := LoadTable(ctx, client, strings.NewReader(input), custTable, LoadConfig{
		Prefix: prefix, MaxLineSize: 200, Input: "bad.csv", OnReport: func(r RowReport) { reported = append(reported, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Loaded != 2 || sum.Skipped != 7 {
		t.Fatalf("%+v", sum)
	}
	wantLines := []int64{3, 4, 5, 7, 8, 9, 10}
	var lines []int64
	for _, r := range reported {
		lines = append(lines, r.Line)
		if r.Input != "bad.csv" || r.Reason == "" {
			t.Errorf("report %v", r)
		}
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("reported lines %v, want %v (%v)", lines, wantLines, reported)
	}
	if h := client.HGetAll(ctx, prefix+"customer:8").Val(); h["name"] != "Bob" || h["sign_date"] != "2012-12-31" || h["linked_with_apps"] != "1" {
		t.Errorf("customer:8 = %v", h)
	}
	_, err = LoadTable(ctx, client, strings.NewReader("Id,Name\n1,x\n"), custTable, LoadConfig{Prefix: prefix})
	if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "input:1") {
		t.Errorf("bad header error: %v", err)
	}
	_, err = LoadTable(ctx, client, strings.NewReader(""), trackTable, LoadConfig{Prefix: prefix})
	if !errors.Is(err, ErrHeader) {
		t.Errorf("empty input error: %v", err)
	}
}

// TestReadLineLong covers lines longer than the read buffer: one accepted,
// one over MaxLineSize skipped with its line number, and the next line read.
func TestReadLineLong(t *testing.T) {
	long := strings.Repeat("a", 100<<10)
	huge := strings.Repeat("b", 2<<20)
	input := "h\n" + long + "\n" + huge + "\nlast"
	br := bufio.NewReaderSize(strings.NewReader(input), 1<<16)
	var got []string
	var errs []error
	for {
		line, err := readLine(br, 1<<20)
		if err == io.EOF && len(line) == 0 {
			break
		}
		got = append(got, string(line))
		errs = append(errs, err)
		if err == io.EOF {
			break
		}
	}
	if len(got) != 4 || got[0] != "h" || got[1] != long || got[3] != "last" || !errors.Is(errs[2], errLineTooLong) {
		t.Fatalf("lines %d, errs %v", len(got), errs)
	}
}
