package model

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

func TestReadPlaysMatchesGenerated(t *testing.T) {
	d := gen.Generate(gen.Config{Seed: 8, Customers: 50, Tracks: 20, Plays: 2000, MeanGap: time.Minute, Duplicates: 0.05})
	var buf bytes.Buffer
	if err := gen.WritePlays(&buf, d.Plays); err != nil {
		t.Fatal(err)
	}
	b := NewBuilder()
	n, err := ReadPlays(&buf, "tracks.csv", b.AddPlay)
	if err != nil || n != len(d.Plays) {
		t.Fatalf("read %d of %d: %v", n, len(d.Plays), err)
	}
	truth := gen.ClickCustomerFeatures(d.Plays)
	if b.Customers() != len(truth) {
		t.Fatalf("%d customers, want %d", b.Customers(), len(truth))
	}
	for _, c := range truth {
		if f, ok := b.Features(c.ID); !ok || f != Features(c.Features) {
			t.Fatalf("customer %d: %v, want %v", c.ID, f, c.Features)
		}
	}
}

func TestReadPlaysErrorsNameLine(t *testing.T) {
	in := "0,1,2,\"2014-10-01 07:00:00\",1,\"12345\"\n\n1,1,2,\"2014-10-01 07:00:00\",2,\"12345\"\n"
	_, err := ReadPlays(strings.NewReader(in), "p.csv", NewBuilder().AddPlay)
	if err == nil || !strings.HasPrefix(err.Error(), "p.csv:3: field ismobile") {
		t.Fatalf("error %v, want p.csv:3: field ismobile ...", err)
	}
}

func TestReadClicks(t *testing.T) {
	in := "\ufeffCustID,EventID,AdClicked,Localtime\r\n" +
		"7,0,\"ADV_REDUCED_1DAY\",\"2014-10-01 07:00:00\"\n" +
		"8,1,ADV_LIFETIME,2014-10-01T07:00:00Z\n" +
		"\n" +
		"7,2,\"ADV_FREE_REDUCED\",\"2014-10-01 08:00:00\"\n"
	clicked, err := ReadClicks(strings.NewReader(in), "clicks.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(clicked) != 1 || !clicked[7] {
		t.Fatalf("clicked %v, want only 7", clicked)
	}
	for _, c := range []struct{ in, want string }{
		{"EventID,CustID,Ad,Localtime\n", "c.csv:1: header \"EventID,CustID,Ad,Localtime\" lacks column AdClicked"},
		{"EventID,CustID,AdClicked,Localtime,x\n", "c.csv:1: header \"EventID,CustID,AdClicked,Localtime,x\": 5 columns, want 4"},
		{"EventID,CustID,AdClicked,Localtime\n1,x,A,2014-10-01 07:00:00\n", "c.csv:2: CustID \"x\" is not an integer"},
		{"EventID,CustID,AdClicked,Localtime\n1,2,A\n", "c.csv:2: 3 columns, want 4"},
		{"EventID,CustID,AdClicked,Localtime\n1,2,\"A,2014\n", "c.csv:2: column 3: unterminated quote"},
		{"EventID,CustID,AdClicked,Localtime\n1,2,A,yesterday\n", "c.csv:2: Localtime \"yesterday\" is not YYYY-MM-DD hh:mm:ss or RFC 3339"},
		{"EventID,CustID,AdClicked,Localtime\n1,2,,2014-10-01 07:00:00\n", "c.csv:2: AdClicked is empty"},
		{"EventID,CustID,AdClicked,Localtime\n1,2,A\"B,2014-10-01 07:00:00\n", "c.csv:2: column 3: stray quote"},
	} {
		if _, err := ReadClicks(strings.NewReader(c.in), "c.csv"); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

func TestReadClicksGenerated(t *testing.T) {
	d := gen.Generate(gen.Config{Seed: 3, Customers: 200, Tracks: 60, Plays: 8000, MeanGap: 2 * time.Minute})
	clicks, truth := gen.Clicks(d, gen.ClickConfig{})
	var buf bytes.Buffer
	if err := gen.WriteClicks(&buf, clicks); err != nil {
		t.Fatal(err)
	}
	clicked, err := ReadClicks(&buf, "clicks.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range truth.Customers {
		if clicked[c.ID] != c.Clicked {
			t.Fatalf("customer %d: read %v, truth %v", c.ID, clicked[c.ID], c.Clicked)
		}
	}
}

func TestReadLibSVM(t *testing.T) {
	in := "0 1:0.24 2:0.23 3:0.24 4:0.28 5:0.50 6:0.96\n\n+1 6:1 1:0.5\n"
	rows, err := ReadLibSVM(strings.NewReader(in), "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{0, Features{0.24, 0.23, 0.24, 0.28, 0.50, 0.96}, false}, {1, Features{Morning: 0.5, Unique: 1}, true}}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	for _, c := range []struct{ in, want string }{
		{"2 1:0.1\n", "f.txt:1: label \"2\" is not 0 or 1"},
		{"0 1:0.1\n1 7:0.2\n", "f.txt:2: index \"7\" is not 1..6"},
		{"0 1=0.1\n", "f.txt:1: \"1=0.1\" is not index:value"},
		{"0 1:0.1 1:0.2\n", "f.txt:1: index 1 given twice"},
		{"0 1:NaN\n", "f.txt:1: value \"NaN\" of index 1 is not a finite number"},
		{"0 " + strings.Repeat("x", maxLine) + "\n", "f.txt:1: bufio.Scanner: token too long"},
	} {
		if _, err := ReadLibSVM(strings.NewReader(c.in), "f.txt"); err == nil || err.Error() != c.want {
			t.Errorf("%.40q: error %v, want %q", c.in, err, c.want)
		}
	}
}

// The demo's own features file, when ../shared/data holds it.
func TestReadLibSVMDemoFile(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "shared", "data", "features.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("demo data not present: %v", err)
	}
	defer f.Close()
	rows, err := ReadLibSVM(f, path)
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for _, r := range rows {
		if r.Label {
			pos++
		}
	}
	if len(rows) != 5000 || pos != 742 {
		t.Fatalf("%d rows, %d positive; want 5000 and 742", len(rows), pos)
	}
	res, err := Train(rows, TrainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestError >= 0.10 {
		t.Errorf("demo features: held-out error %.4f, not publishable", res.TestError)
	}
	t.Logf("demo features: held-out error %.4f (majority class %.4f), %v", res.TestError, float64(pos)/5000, res.Model)
}

func TestFeaturesStringRoundTrip(t *testing.T) {
	f := Features{0.1, 1.0 / 3, 0, 1, 0.5, 0.987654321}
	g, err := ParseFeatures(f.String())
	if err != nil || g != f {
		t.Fatalf("%q parsed as %v %v", f.String(), g, err)
	}
	for _, bad := range []string{"", "1,2", "1,2,3,4,5,x", "1,2,3,4,5,Inf"} {
		if _, err := ParseFeatures(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestBuilderAddEvent(t *testing.T) {
	d := gen.Generate(gen.Config{Seed: 2, Customers: 30, Tracks: 20, Plays: 600, MeanGap: time.Minute, Duplicates: 0.1})
	a, b := NewBuilder(), NewBuilder()
	for _, p := range d.Plays {
		a.AddPlay(p)
	}
	for _, ev := range gen.PlayEvents("plays", d.Plays) {
		if _, err := b.AddEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if ra, rb := a.Rows(nil), b.Rows(nil); !reflect.DeepEqual(ra, rb) || len(ra) != 30 {
		t.Fatalf("events gave %d rows, plays %d (or they differ)", len(rb), len(ra))
	}
	if _, err := b.AddEvent(stream.Event{Schema: gen.TrackSchema}); err == nil {
		t.Error("a track event was counted as a play")
	}
}
