package model

import (
	"strings"
	"testing"
)

// The parsers never panic, and what they accept is well formed.
func FuzzReadLibSVM(f *testing.F) {
	for _, s := range []string{
		"0 1:0.24 2:0.23 3:0.24 4:0.28 5:0.50 6:0.96\n1 1:0.30 6:0.94\n",
		"+1 6:1\n-1\n", "2 1:0\n", "0 9:1\n", "0 1:1 1:1\n", "0 1:1e309\n", "\n\n0\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadLibSVM(strings.NewReader(in), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error %q does not name the input", err)
			}
			return
		}
		for i, r := range rows {
			if r.CustID != int64(i) {
				t.Fatalf("row %d has id %d", i, r.CustID)
			}
			if _, err := ParseFeatures(r.X.String()); err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
		}
	})
}

func FuzzReadClicks(f *testing.F) {
	const h = "EventID,CustID,AdClicked,Localtime\n"
	for _, s := range []string{
		h + "0,7,\"ADV_REDUCED_1DAY\",\"2014-10-01 07:00:00\"\n",
		h + "1,8,ADV_LIFETIME,2014-10-01T07:00:00Z\n",
		h + "1,2,\"A\"\"B\",2014-10-01 07:00:00\n",
		h + "1,2,\"A,2014\n", "CustID\n", "", h + "1,2,A\"B,x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		clicked, err := ReadClicks(strings.NewReader(in), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error %q does not name the input", err)
			}
			return
		}
		for id, c := range clicked {
			if !c {
				t.Fatalf("customer %d stored as not clicked", id)
			}
		}
	})
}

func FuzzReadPlays(f *testing.F) {
	for _, s := range []string{
		"0,48,453,\"2014-10-23 03:26:20\",0,\"72132\"\n1,48,19,\"2014-10-15 18:32:14\",1,\"17307\"\n",
		"0,1,2,\"2014-10-01 07:00:00\",2,\"1\"\n", "x\n", "\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b := NewBuilder()
		if _, err := ReadPlays(strings.NewReader(in), "fuzz", b.AddPlay); err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error %q does not name the input", err)
			}
			return
		}
		for _, r := range b.Rows(nil) {
			sum := r.X[Morning] + r.X[Afternoon] + r.X[Evening] + r.X[Night]
			if sum < 0.999999 || sum > 1.000001 || r.X[Unique] <= 0 || r.X[Unique] > 1 {
				t.Fatalf("customer %d: features %v", r.CustID, r.X)
			}
		}
	})
}
