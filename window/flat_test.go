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
