package gen

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// ClickFeatures is the number of ad-response features, in the order
// morning, afternoon, evening, night, mobile, unique: the shares of a
// customer's plays (deduplicated by event id) in 06-12, 12-18, 18-24 and
// 00-06 (UTC hour of the play), the share played on mobile, and the number of
// distinct tracks over the number of plays.
const ClickFeatures = 6

// DefaultClickWeights is the true relation Clicks plants, in feature order.
// The four time-of-day shares sum to 1, so only their differences matter;
// their weights sum to zero, which is the form an L2-regularized fit
// converges to. The weights are steep because shares of tens of plays vary
// little between customers: with about 40 plays per customer the true
// relation misclassifies about 5% of them (ClickTruth.BayesError); with more
// plays per customer the features vary less and that floor rises.
var DefaultClickWeights = [ClickFeatures]float64{75, 25, -25, -75, -60, 50}

// ClickConfig configures Clicks. Zero values mean the defaults.
type ClickConfig struct {
	// Seed drives the label noise and the click rows. Default: the data
	// set's seed.
	Seed uint64
	// Weights of the true relation; nil means DefaultClickWeights.
	Weights *[ClickFeatures]float64
	// Bias is the log-odds of clicking for a customer whose features equal
	// the data set's mean. Default -4 (about a third click, with the
	// default weights and about 40 plays per customer).
	Bias float64
	// OtherClicks is the mean number of clicks on the other ads per
	// customer with plays (noise rows that do not set the label). Default 1.
	OtherClicks float64
}

// ClickCustomer is the truth for one customer with at least one play.
type ClickCustomer struct {
	ID       int64
	Plays    int                    // distinct plays
	Features [ClickFeatures]float64 // computed from the plays
	P        float64                // true probability of clicking ADV_REDUCED_1DAY
	Clicked  bool                   // the drawn label
}

// ClickTruth is the relation Clicks planted: P(clicked ADV_REDUCED_1DAY) =
// 1/(1+exp(-(Intercept + Σ Weights[i]·x[i]))) over the raw features x.
type ClickTruth struct {
	Intercept float64
	Weights   [ClickFeatures]float64
	Mean      [ClickFeatures]float64 // the features' mean over Customers
	Customers []ClickCustomer        // by id; only customers with plays
	// BayesError is the mean of min(P, 1-P): the misclassification rate of
	// the true relation itself, the floor any model can expect.
	BayesError float64
}

// Clicks generates clicks.csv rows consistent with d's plays: customers
// with plays click ADV_REDUCED_1DAY (one to three times) with the
// probability ClickTruth states, and click the other ads at random. Rows are
// in time order with event ids from 0; each click follows one of the
// customer's plays by up to an hour. The same d and cfg give the same rows.
func Clicks(d *Data, cfg ClickConfig) ([]Click, ClickTruth) {
	seed := cfg.Seed
	if seed == 0 {
		seed = d.Config.Seed
	}
	w := DefaultClickWeights
	if cfg.Weights != nil {
		w = *cfg.Weights
	}
	bias := cfg.Bias
	if bias == 0 {
		bias = -4
	}
	other := cfg.OtherClicks
	if other == 0 {
		other = 1
	}
	r := rand.New(rand.NewPCG(seed, seed^0xc1c4c1c4c1c4c1c4))
	tr := ClickTruth{Weights: w, Customers: ClickCustomerFeatures(d.Plays)}
	for _, c := range tr.Customers {
		for i, x := range c.Features {
			tr.Mean[i] += x / float64(len(tr.Customers))
		}
	}
	tr.Intercept = bias
	for i := range w {
		tr.Intercept -= w[i] * tr.Mean[i]
	}
	times := playTimes(d.Plays)
	var out []Click
	for i := range tr.Customers {
		c := &tr.Customers[i]
		z := tr.Intercept
		for k := range w {
			z += w[k] * c.Features[k]
		}
		c.P = 1 / (1 + math.Exp(-z))
		c.Clicked = r.Float64() < c.P
		tr.BayesError += min(c.P, 1-c.P) / float64(len(tr.Customers))
		at := func() time.Time {
			ts := times[c.ID]
			return ts[r.IntN(len(ts))].Add(time.Duration(r.IntN(3600)) * time.Second)
		}
		if c.Clicked {
			for n := 1 + r.IntN(3); n > 0; n-- {
				out = append(out, Click{CustID: c.ID, AdClicked: Ads[0], Localtime: at()})
			}
		}
		for n := poisson(r, other); n > 0; n-- {
			out = append(out, Click{CustID: c.ID, AdClicked: Ads[1+r.IntN(len(Ads)-1)], Localtime: at()})
		}
	}
	slices.SortStableFunc(out, func(a, b Click) int {
		return cmp.Or(a.Localtime.Compare(b.Localtime), cmp.Compare(a.CustID, b.CustID))
	})
	for i := range out {
		out[i].EventID = int64(i)
	}
	return out, tr
}

// poisson draws a Poisson variate of mean m (Knuth; m is small).
func poisson(r *rand.Rand, m float64) int {
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func playTimes(plays []Play) map[int64][]time.Time {
	m := make(map[int64][]time.Time)
	for _, p := range plays {
		m[p.CustomerID] = append(m[p.CustomerID], p.Time)
	}
	return m
}

// ClickCustomerFeatures computes the ad-response features of every customer
// with plays, sorted by customer id. Plays are deduplicated by event id (the
// first delivery counts); the hour is the play's UTC hour.
func ClickCustomerFeatures(plays []Play) []ClickCustomer {
	type acc struct {
		n, mobile int
		hours     [4]int
		tracks    map[int64]struct{}
	}
	seen := make(map[int64]struct{}, len(plays))
	accs := make(map[int64]*acc)
	for _, p := range plays {
		if _, dup := seen[p.EventID]; dup {
			continue
		}
		seen[p.EventID] = struct{}{}
		a := accs[p.CustomerID]
		if a == nil {
			a = &acc{tracks: make(map[int64]struct{})}
			accs[p.CustomerID] = a
		}
		a.n++
		if p.Mobile {
			a.mobile++
		}
		a.hours[DayPart(p.Time.UTC().Hour())]++
		a.tracks[p.TrackID] = struct{}{}
	}
	out := make([]ClickCustomer, 0, len(accs))
	for id, a := range accs {
		n := float64(a.n)
		c := ClickCustomer{ID: id, Plays: a.n}
		for i, h := range a.hours {
			c.Features[i] = float64(h) / n
		}
		c.Features[4] = float64(a.mobile) / n
		c.Features[5] = float64(len(a.tracks)) / n
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b ClickCustomer) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// DayPart maps an hour (0-23) to its feature: 0 morning (06-12), 1
// afternoon (12-18), 2 evening (18-24), 3 night (00-06).
func DayPart(hour int) int {
	if hour < 6 {
		return 3
	}
	return (hour - 6) / 6
}
