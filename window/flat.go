package window

// flatTable is an open-addressing hash table (linear probing, backward
// shift deletion) of fixed-width entries of int64 words, keyed by the first
// two words. Keys and state share one entry, so a lookup touches one or two
// cache lines and no pointer: the table is invisible to the garbage
// collector. Word 3 of an entry is its meta word; zero means empty.
type flatTable struct {
	w      []int64
	width  int
	mask   uint64
	n      int
	cursor uint64 // position of the incremental expiry sweep
	sink   int64  // keeps prefetching loads alive
}

const (
	fKeyA = iota
	fKeyB
	fLast
	fMeta
	fHead // first word of the operator's payload
)

const metaUsed = 1 << 62

func newFlat(width int) *flatTable {
	return &flatTable{w: make([]int64, 16*width), width: width, mask: 15}
}

func (f *flatTable) home(a, b int64) uint64 {
	h := uint64(a)*0x9E3779B97F4A7C15 ^ uint64(b)*0xC2B2AE3D27D4EB4F
	h ^= h >> 32
	h *= 0xD6E8FEB86659FD93
	h ^= h >> 29
	return h & f.mask
}

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
	e[fKeyA], e[fKeyB], e[fMeta] = a, b, metaUsed
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
				homes[n], at[n] = f.home(old[i], old[i+1]), i
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

// del removes the entry at p, shifting later entries of its probe run back.
func (f *flatTable) del(p uint64) {
	i := p
	for j := (p + 1) & f.mask; f.used(j); j = (j + 1) & f.mask {
		e := f.at(j)
		k := f.home(e[fKeyA], e[fKeyB])
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
