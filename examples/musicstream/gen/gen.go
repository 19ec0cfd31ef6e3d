// Package gen is a deterministic, seeded generator of the demo's data sets:
// plays (tracks), customers, music and ad clicks, at any size, with planted
// patterns (repeated plays of a track within a span, duplicate deliveries,
// out-of-order arrival) whose truth it reports, so tests can check results
// against it. The same Config and Seed always give the same bytes.
package gen

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// Config sets the size and shape of a data set. Zero values mean the defaults.
type Config struct {
	Seed      uint64
	Customers int           // default 5000
	Tracks    int           // default 1750
	Plays     int           // default 10000
	Start     time.Time     // time of the first play; default 2014-10-01 00:00:00 UTC
	MeanGap   time.Duration // mean event-time gap between plays; default 1s
	// Repeats plants this many (customer, track) pairs played RepeatCount
	// times within RepeatSpan.
	Repeats     int
	RepeatCount int           // default 3
	RepeatSpan  time.Duration // default 30m: the pattern's plays span at most this (inclusive)
	// NearMisses plants pairs played RepeatCount times over RepeatSpan+1s:
	// they must not match.
	NearMisses int
	// Duplicates is the fraction of plays delivered twice (same event id).
	Duplicates float64
	// MaxDelay shuffles arrival: each play arrives up to MaxDelay (event
	// time) after plays with later times. 0 keeps event-time order.
	MaxDelay time.Duration
	// GoldShare, SilverShare set the customer levels; the rest are Free.
	// Defaults 0.106 and 0.328, as in cust.csv.
	GoldShare, SilverShare float64
	// ClosedShare is the share of closed accounts (status 0). Default 0.103.
	ClosedShare float64
}

func (c *Config) setDefaults() {
	if c.Customers <= 0 {
		c.Customers = 5000
	}
	if c.Tracks <= 0 {
		c.Tracks = 1750
	}
	if c.Plays < 0 {
		c.Plays = 0
	} else if c.Plays == 0 {
		c.Plays = 10000
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2014, 10, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.MeanGap <= 0 {
		c.MeanGap = time.Second
	}
	if c.RepeatCount <= 0 {
		c.RepeatCount = 3
	}
	if c.RepeatSpan <= 0 {
		c.RepeatSpan = 30 * time.Minute
	}
	if c.GoldShare == 0 && c.SilverShare == 0 {
		c.GoldShare, c.SilverShare = 0.106, 0.328
	}
	if c.ClosedShare == 0 {
		c.ClosedShare = 0.103
	}
}

// Play is one play event.
type Play struct {
	EventID    int64
	CustomerID int64
	TrackID    int64
	Time       time.Time
	Mobile     bool
	Zip        string
}

// Customer is one row of cust.csv.
type Customer struct {
	ID             int64
	Name           string
	Gender         int // 0 or 1
	Address        string
	Zip            string
	SignDate       time.Time
	Status         int // 1 active, 0 closed
	Level          int // 0 Free, 1 Silver, 2 Gold
	Campaign       int
	LinkedWithApps int
}

// Track is one row of music.csv.
type Track struct {
	ID     int64
	Title  string
	Artist string
	Length int // seconds
}

// Click is one row of clicks.csv.
type Click struct {
	EventID   int64
	CustID    int64
	AdClicked string
	Localtime time.Time
}

// Pattern is a planted (customer, track) pair.
type Pattern struct {
	CustomerID, TrackID int64
	Times               []time.Time
}

// Data is a generated data set. Plays are in arrival order.
type Data struct {
	Config     Config
	Customers  []Customer
	Tracks     []Track
	Plays      []Play
	Planted    []Pattern // pairs that must match
	NearMisses []Pattern // pairs that must not match
	Duplicates int       // re-deliveries in Plays
}

// Generate builds a data set from cfg.
func Generate(cfg Config) *Data {
	cfg.setDefaults()
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	d := &Data{Config: cfg}
	d.Customers = customers(r, cfg)
	d.Tracks = tracks(r, cfg)
	d.Plays = d.plays(r, cfg)
	return d
}

type arrival struct {
	key int64 // arrival order key
	seq int
	p   Play
}

func (d *Data) plays(r *rand.Rand, cfg Config) []Play {
	n := cfg.Plays
	out := make([]Play, 0, n+int(float64(n)*cfg.Duplicates)+1)
	t := cfg.Start
	gap := float64(cfg.MeanGap)
	for i := 0; i < n; i++ {
		c := &d.Customers[r.IntN(len(d.Customers))]
		zip := c.Zip
		if r.IntN(10) == 0 {
			zip = zipCode(r)
		}
		out = append(out, Play{
			EventID: int64(i), CustomerID: c.ID, TrackID: int64(r.IntN(len(d.Tracks))),
			Time: t, Mobile: r.IntN(2) == 0, Zip: zip,
		})
		t = t.Add(time.Duration(r.ExpFloat64() * gap).Truncate(time.Second))
	}
	end := t
	// Plant patterns on top of the base plays, with fresh event ids, each on
	// a pair not planted before. Base plays may hit a planted pair by chance:
	// tests compute the truth from the plays, Planted is a floor.
	nextID := int64(n)
	usedPair := map[[2]int64]bool{}
	plant := func(span time.Duration) Pattern {
		var c, tr int64
		for {
			c = d.Customers[r.IntN(len(d.Customers))].ID
			tr = int64(r.IntN(len(d.Tracks)))
			if !usedPair[[2]int64{c, tr}] {
				usedPair[[2]int64{c, tr}] = true
				break
			}
		}
		startSpan := end.Sub(cfg.Start) - span
		if startSpan <= 0 {
			startSpan = 1
		}
		t0 := cfg.Start.Add(time.Duration(r.Int64N(int64(startSpan))).Truncate(time.Second))
		pat := Pattern{CustomerID: c, TrackID: tr}
		for k := 0; k < cfg.RepeatCount; k++ {
			var at time.Time
			switch k {
			case 0:
				at = t0
			case cfg.RepeatCount - 1:
				at = t0.Add(span)
			default:
				at = t0.Add(time.Duration(r.Int64N(int64(span))).Truncate(time.Second))
			}
			pat.Times = append(pat.Times, at)
			out = append(out, Play{EventID: nextID, CustomerID: c, TrackID: tr, Time: at, Mobile: r.IntN(2) == 0, Zip: d.Customers[c].Zip})
			nextID++
		}
		return pat
	}
	for i := 0; i < cfg.Repeats; i++ {
		span := time.Duration(r.Int64N(int64(cfg.RepeatSpan)/int64(time.Second))+1) * time.Second
		if i%4 == 0 {
			span = cfg.RepeatSpan // exactly the span: must match (inclusive)
		}
		d.Planted = append(d.Planted, plant(span))
	}
	for i := 0; i < cfg.NearMisses; i++ {
		d.NearMisses = append(d.NearMisses, plant(cfg.RepeatSpan+time.Second))
	}
	// Event-time order, then duplicates, then arrival jitter.
	slices.SortStableFunc(out, func(a, b Play) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.EventID, b.EventID))
	})
	arr := make([]arrival, 0, len(out)+len(out)/8)
	delay := int64(cfg.MaxDelay)
	for i, p := range out {
		k := p.Time.UnixNano()
		if delay > 0 {
			k += r.Int64N(delay + 1)
		}
		arr = append(arr, arrival{key: k, seq: i, p: p})
		if cfg.Duplicates > 0 && r.Float64() < cfg.Duplicates {
			dk := p.Time.UnixNano()
			if delay > 0 {
				dk += r.Int64N(delay + 1)
			}
			arr = append(arr, arrival{key: dk, seq: len(out) + i, p: p})
			d.Duplicates++
		}
	}
	slices.SortFunc(arr, func(a, b arrival) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq)) })
	plays := make([]Play, len(arr))
	for i := range arr {
		plays[i] = arr[i].p
	}
	return plays
}

// SampleConfig is the data set committed beside the music-stream job file
// (examples/musicstream/data): 10,000 plays of 2,000 customers with planted
// repeats, near misses, 1% duplicate deliveries and arrival shuffled by up
// to two minutes.
var SampleConfig = Config{Seed: 1, Plays: 10000, Customers: 2000, Repeats: 50, NearMisses: 10, Duplicates: 0.01, MaxDelay: 2 * time.Minute}
