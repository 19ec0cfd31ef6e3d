package window

import (
	"math/rand/v2"
	"testing"
)

// The open-addressing table against a Go map: random inserts, deletes and
// lookups, up to the growth threshold so probe runs are long.
func TestFlatTableAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	f := newFlat(fHead + 1)
	m := map[[2]int64]int64{}
	for i := range 200000 {
		k := [2]int64{r.Int64N(3000), r.Int64N(3)}
		p, ok := f.find(k[0], k[1])
		v, mok := m[k]
		if ok != mok || (ok && f.at(p)[fHead] != v) {
			t.Fatalf("op %d: key %v: table %v (%d), map %v (%d)", i, k, ok, f.at(p)[fHead], mok, v)
		}
		switch {
		case ok && r.IntN(2) == 0:
			f.del(p)
			delete(m, k)
		case !ok:
			e := f.at(f.insert(p, k[0], k[1]))
			e[fHead] = int64(i)
			m[k] = int64(i)
		}
		if f.n != len(m) {
			t.Fatalf("op %d: %d entries, map has %d", i, f.n, len(m))
		}
	}
	seen := 0
	f.each(func(e []int64) {
		if m[[2]int64{e[fKeyA], e[fKeyB]}] != e[fHead] {
			t.Fatalf("entry %v disagrees with the map", e)
		}
		seen++
	})
	if seen != len(m) {
		t.Fatalf("each saw %d of %d", seen, len(m))
	}
}

// sweep against a Go map: entries with random last times, sweeps of random
// budgets and limits interleaved with inserts and deletes, near the growth
// threshold so runs are long and wrap around the end of the table.
func TestFlatSweepAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	f := newFlat(fHead + 1)
	m := map[[2]int64]int64{} // key -> last time
	now := int64(0)
	for i := range 100000 {
		now++
		k := [2]int64{r.Int64N(5000), r.Int64N(2)}
		p, ok := f.find(k[0], k[1])
		if _, mok := m[k]; ok != mok {
			t.Fatalf("op %d: key %v: table %v, map %v", i, k, ok, mok)
		}
		switch {
		case ok && r.IntN(8) == 0:
			f.del(p)
			delete(m, k)
		case ok:
			f.at(p)[fLast] = now
			m[k] = now
		default:
			f.at(f.insert(p, k[0], k[1]))[fLast] = now
			m[k] = now
		}
		if r.IntN(50) == 0 {
			limit := now - r.Int64N(3000)
			var gone [][2]int64
			n := f.sweep(r.IntN(int(f.cap())+1), limit, func(e []int64) {
				if e[fLast] >= limit {
					t.Fatalf("op %d: swept %v at %d, limit %d", i, e[:2], e[fLast], limit)
				}
				gone = append(gone, [2]int64{e[fKeyA], e[fKeyB]})
			})
			if n != len(gone) {
				t.Fatalf("op %d: sweep says %d, called gone %d times", i, n, len(gone))
			}
			for _, g := range gone {
				if _, ok := m[g]; !ok {
					t.Fatalf("op %d: swept %v twice or never there", i, g)
				}
				delete(m, g)
			}
		}
		if f.n != len(m) {
			t.Fatalf("op %d: %d entries, map has %d", i, f.n, len(m))
		}
	}
	for k, last := range m {
		p, ok := f.find(k[0], k[1])
		if !ok || f.at(p)[fLast] != last {
			t.Fatalf("key %v lost or changed after sweeps", k)
		}
	}
	// A full sweep with a limit past everything empties the table.
	if f.sweep(int(f.cap())*2, now+1, nil); f.n != 0 {
		t.Fatalf("%d entries left after a full sweep", f.n)
	}
}
