package gen

import (
	"bytes"
	"math"
	"testing"
	"time"
)

func clickData() *Data {
	return Generate(Config{Seed: 5, Customers: 800, Tracks: 60, Plays: 32000, MeanGap: 2 * time.Minute, Duplicates: 0.02})
}

func TestClicksDeterministic(t *testing.T) {
	d := clickData()
	var a, b bytes.Buffer
	c1, _ := Clicks(d, ClickConfig{})
	c2, _ := Clicks(d, ClickConfig{})
	if err := WriteClicks(&a, c1); err != nil {
		t.Fatal(err)
	}
	if err := WriteClicks(&b, c2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same data and config gave different clicks")
	}
	c3, _ := Clicks(d, ClickConfig{Seed: 99})
	var c bytes.Buffer
	WriteClicks(&c, c3)
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("another seed gave the same clicks")
	}
}

func TestClicksFollowTruth(t *testing.T) {
	d := clickData()
	clicks, tr := Clicks(d, ClickConfig{})
	if len(tr.Customers) != 800 {
		t.Fatalf("%d customers with plays, want 800", len(tr.Customers))
	}
	clicked := map[int64]bool{}
	last := time.Time{}
	for i, c := range clicks {
		if c.EventID != int64(i) {
			t.Fatalf("click %d has event id %d", i, c.EventID)
		}
		if c.Localtime.Before(last) {
			t.Fatalf("click %d out of time order", i)
		}
		last = c.Localtime
		if c.AdClicked == Ads[0] {
			clicked[c.CustID] = true
		}
	}
	positives := 0
	for _, c := range tr.Customers {
		if clicked[c.ID] != c.Clicked {
			t.Fatalf("customer %d: clicks say %v, truth %v", c.ID, clicked[c.ID], c.Clicked)
		}
		z := tr.Intercept
		sum := 0.0
		for i, x := range c.Features {
			z += tr.Weights[i] * x
			if i < 4 {
				sum += x
			}
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("customer %d: day parts sum to %v", c.ID, sum)
		}
		if p := 1 / (1 + math.Exp(-z)); math.Abs(p-c.P) > 1e-12 {
			t.Fatalf("customer %d: P %v, relation gives %v", c.ID, c.P, p)
		}
		if c.Clicked {
			positives++
		}
	}
	share := float64(positives) / float64(len(tr.Customers))
	if share < 0.2 || share > 0.5 {
		t.Errorf("clicker share %.3f, want about a third", share)
	}
	if tr.BayesError <= 0 || tr.BayesError > 0.08 {
		t.Errorf("Bayes error %.4f, want in (0, 0.08]", tr.BayesError)
	}
	t.Logf("clickers %.3f, Bayes error %.4f, mean %v", share, tr.BayesError, tr.Mean)
}

func TestClickCustomerFeaturesDedup(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2014, 10, 1, h, 0, 0, 0, time.UTC) }
	plays := []Play{
		{EventID: 1, CustomerID: 7, TrackID: 1, Time: at(7), Mobile: true},
		{EventID: 1, CustomerID: 7, TrackID: 1, Time: at(7), Mobile: true}, // re-delivery
		{EventID: 2, CustomerID: 7, TrackID: 1, Time: at(13)},
		{EventID: 3, CustomerID: 7, TrackID: 2, Time: at(19)},
		{EventID: 4, CustomerID: 7, TrackID: 3, Time: at(0)},
		{EventID: 5, CustomerID: 3, TrackID: 3, Time: at(23), Mobile: true},
	}
	cs := ClickCustomerFeatures(plays)
	if len(cs) != 2 || cs[0].ID != 3 || cs[1].ID != 7 {
		t.Fatalf("customers %+v", cs)
	}
	if want := [ClickFeatures]float64{0, 0, 1, 0, 1, 1}; cs[0].Features != want {
		t.Errorf("customer 3: %v, want %v", cs[0].Features, want)
	}
	if want := [ClickFeatures]float64{0.25, 0.25, 0.25, 0.25, 0.25, 0.75}; cs[1].Features != want || cs[1].Plays != 4 {
		t.Errorf("customer 7: %v (%d plays), want %v", cs[1].Features, cs[1].Plays, want)
	}
	for h, want := range []int{3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2} {
		if DayPart(h) != want {
			t.Errorf("DayPart(%d) = %d, want %d", h, DayPart(h), want)
		}
	}
}
