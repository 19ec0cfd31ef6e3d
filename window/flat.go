package window

// flatTable is an open-addressing hash table (linear probing, backward
// shift deletion) of fixed-width entries of int64 words, keyed by the first
// two words. Keys and state share one entry, so a lookup touches one or two
// cache lines and no pointer: the table is invisible to the garbage
// collector. Word 3 of an entry is its meta word; zero means empty. Bits
// 32-61 of the meta word hold the low 30 bits of the key's hash (set by
// insert, kept by the operator), so deletion and growth find an entry's home
// without rehashing its key.
type flatTable struct {
	w      []int64
	width  int
	mask   uint64
	n      int
	cursor uint64  // position of the incremental expiry sweep
	sink   int64   // keeps prefetching loads alive
	tmp    []int64 // sweep's buffer of surviving entries
}

const (
	fKeyA = iota
	fKeyB
	fLast
	fMeta
	fHead // first word of the operator's payload
)

const (
	metaUsed  = 1 << 62
	metaLow   = 1<<32 - 1 // the operator's bits of the meta word
	hashBits  = 30
	hashShift = 32
)

func newFlat(width int) *flatTable {
	return &flatTable{w: make([]int64, 16*width), width: width, mask: 15}
}

func flatHash(a, b int64) uint64 {
	h := uint64(a)*0x9E3779B97F4A7C15 ^ uint64(b)*0xC2B2AE3D27D4EB4F
	h ^= h >> 32
	h *= 0xD6E8FEB86659FD93
	h ^= h >> 29
	return h
}

func (f *flatTable) home(a, b int64) uint64 { return flatHash(a, b) & f.mask }

// homeAt returns the home position of the entry at word offset i, from the
// hash bits stored in its meta word while the table is small enough.
func (f *flatTable) homeAt(i int) uint64 { return f.homeAt0(f.w, i) }

func (f *flatTable) cap() uint64 { return f.mask + 1 }

// at returns the entry at position p.
func (f *flatTable) at(p uint64) []int64 {
	i := int(p) * f.width
	return f.w[i : i+f.width : i+f.width]
}

func (f *flatTable) used(p uint64) bool { return f.w[int(p)*f.width+fMeta] != 0 }

// find returns the position of key (a, b), or of the empty slot where it
// would go, and whether it is there.
func (f *flatTable) find(a, b int64) (uint64, bool) {
	for p := f.home(a, b); ; p = (p + 1) & f.mask {
		i := int(p) * f.width
		if f.w[i+fMeta] == 0 {
			return p, false
		}
		if f.w[i] == a && f.w[i+1] == b {
			return p, true
		}
	}
}

// insert adds key (a, b), which must be absent, and returns its entry's
// position; the payload is zero. p is where find said the key would go.
func (f *flatTable) insert(p uint64, a, b int64) uint64 {
	if (f.n+1)*4 > int(f.cap())*3 {
		f.grow()
		p, _ = f.find(a, b)
	}
	e := f.at(p)
	h := int64(flatHash(a, b) & (1<<hashBits - 1))
	e[fKeyA], e[fKeyB], e[fMeta] = a, b, metaUsed|h<<hashShift
	f.n++
	return p
}

func (f *flatTable) grow() {
	old, oldCap := f.w, f.cap()
	f.w = make([]int64, int(oldCap*2)*f.width)
	f.mask = oldCap*2 - 1
	// Reinsert in chunks: compute the new homes, load them all (the misses
	// overlap), then insert.
	var homes [64]uint64
	var at [64]int
	var sink int64
	for i := 0; i < len(old); {
		n := 0
		for ; n < len(homes) && i < len(old); i += f.width {
			if old[i+fMeta] != 0 {
				homes[n], at[n] = f.homeAt0(old, i), i
				n++
			}
		}
		for _, h := range homes[:n] {
			sink += f.w[int(h)*f.width+fMeta]
		}
		for k := range n {
			j := at[k]
			p := homes[k]
			for f.w[int(p)*f.width+fMeta] != 0 {
				p = (p + 1) & f.mask
			}
			copy(f.at(p), old[j:j+f.width])
		}
	}
	f.sink += sink
	f.cursor = 0
}

// homeAt0 is homeAt for an entry of the old words w during growth.
func (f *flatTable) homeAt0(w []int64, i int) uint64 {
	if f.mask < 1<<hashBits {
		return uint64(w[i+fMeta]>>hashShift) & f.mask
	}
	return f.home(w[i], w[i+1])
}

// setLow sets the operator's bits (0-31) of the meta word of e, keeping the
// table's.
func setLow(e []int64, low int64) { e[fMeta] = e[fMeta]&^metaLow | low&metaLow }

// del removes the entry at p, shifting later entries of its probe run back.
func (f *flatTable) del(p uint64) {
	i := p
	for j := (p + 1) & f.mask; f.used(j); j = (j + 1) & f.mask {
		e := f.at(j)
		k := f.homeAt(int(j) * f.width)
		if (i <= j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue // j's home lies after the hole: it stays
		}
		copy(f.at(i), e)
		i = j
	}
	clear(f.at(i))
	f.n--
}

// each calls fn for every entry.
func (f *flatTable) each(fn func(e []int64)) {
	for p := uint64(0); p <= f.mask; p++ {
		if f.used(p) {
			fn(f.at(p))
		}
	}
}

// sweep visits up to budget slots from the cursor and removes the entries
// whose last time (word fLast) is before limit, calling gone (if not nil)
// with each before it goes. It returns how many it removed.
//
// Deleting the entries of a probe run one at a time shifts the rest of the
// run back each time: quadratic in the run's length when most of it
// expires, as it does in a sweep. sweep instead removes every expired
// entry from the cursor to the end of the run at once and puts the
// survivors back in order (each at the first free slot from its home,
// which keeps every entry reachable), in one pass over the run.
func (f *flatTable) sweep(budget int, limit int64, gone func(e []int64)) int {
	removed := 0
	for budget > 0 && f.n > 0 {
		p := f.cursor
		i := int(p) * f.width
		if f.w[i+fMeta] == 0 || f.w[i+fLast] >= limit {
			f.cursor = (p + 1) & f.mask
			budget--
			continue
		}
		// Collect the survivors of the run p.. and clear it.
		keep := f.tmp[:0]
		run := uint64(0)
		for q := p; f.used(q); q = (q + 1) & f.mask {
			e := f.at(q)
			if e[fLast] < limit {
				if gone != nil {
					gone(e)
				}
				removed++
				f.n--
			} else {
				keep = append(keep, e...)
			}
			clear(e)
			run++
		}
		for k := 0; k < len(keep); k += f.width {
			h := f.homeAt0(keep, k)
			if (h-p)&f.mask >= run {
				h = p // its home lies before p: the slots up to p are full
			}
			for f.used(h) {
				h = (h + 1) & f.mask
			}
			copy(f.at(h), keep[k:k+f.width])
		}
		f.tmp = keep[:0]
		f.cursor = (p + run) & f.mask
		budget -= int(run)
	}
	return removed
}
