package gen

import (
	"fmt"
	"math/rand/v2"
	"time"
)

var (
	firstNames = []string{"Gregory", "Robert", "Paula", "Francine", "Maria", "James", "Linda", "David", "Susan", "Karen", "Joseph", "Nancy", "Thomas", "Betty", "Daniel", "Helen", "Mark", "Sandra", "Paul", "Donna"}
	lastNames  = []string{"Koval", "Gordon", "Peltier", "Gray", "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Thomas", "White", "Harris", "Martin", "Clark", "Lewis", "Walker"}
	streetA    = []string{"Easy", "Thunder", "Bent", "Silent", "Golden", "Quiet", "Misty", "Rocky", "Sunny", "Lazy"}
	streetB    = []string{"Cider", "Hickory", "Gate", "Pony", "Pine", "Brook", "Oak", "Maple", "Fox", "Willow"}
	streetC    = []string{"Point", "Villa", "Bend", "Heights", "Road", "Lane", "Court", "Trail", "Way", "Row"}
	artists    = []string{".38 Special", "ABBA", "Blue Öyster Cult", "Crosby, Stills & Nash", "Eagles", "Fleetwood Mac", "Heart", "Journey", "Kansas", "Queen", "Rush", "Styx", "Toto", "Yes", "Boston"}
	words      = []string{"Hold", "On", "Love", "Night", "Fire", "Road", "Heart", "Dream", "Run", "Blue", "Time", "Rain", "Sky", "Home", "Again"}
	// Ads is the list of ads that clicks.csv names.
	Ads = []string{"ADV_REDUCED_1DAY", "ADV_FREE_REDUCED", "ADV_DOUBLE_FOR_GOLD", "ADV_LIFETIME"}
)

func zipCode(r *rand.Rand) string { return fmt.Sprintf("%05d", 10000+r.IntN(89999)) }

func customers(r *rand.Rand, cfg Config) []Customer {
	cs := make([]Customer, cfg.Customers)
	base := time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range cs {
		level := 0
		switch x := r.Float64(); {
		case x < cfg.GoldShare:
			level = 2
		case x < cfg.GoldShare+cfg.SilverShare:
			level = 1
		}
		status := 1
		if r.Float64() < cfg.ClosedShare {
			status = 0
		}
		cs[i] = Customer{
			ID:             int64(i),
			Name:           firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))],
			Gender:         r.IntN(2),
			Address:        fmt.Sprintf("%d %s %s %s", 100+r.IntN(99900), streetA[r.IntN(10)], streetB[r.IntN(10)], streetC[r.IntN(10)]),
			Zip:            zipCode(r),
			SignDate:       base.AddDate(0, 0, r.IntN(1000)),
			Status:         status,
			Level:          level,
			Campaign:       1 + r.IntN(4),
			LinkedWithApps: r.IntN(2),
		}
	}
	return cs
}

func tracks(r *rand.Rand, cfg Config) []Track {
	ts := make([]Track, cfg.Tracks)
	for i := range ts {
		ts[i] = Track{
			ID:     int64(i),
			Title:  words[r.IntN(len(words))] + " " + words[r.IntN(len(words))],
			Artist: artists[r.IntN(len(artists))],
			Length: 120 + r.IntN(300),
		}
	}
	return ts
}
