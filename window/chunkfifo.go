package window

// chunkFIFO is a queue of T addressed by absolute position (head <= i <
// tail), stored in chunks of 1<<shift elements: pushing and popping never
// move elements, and the memory held follows the live length (at most one
// chunk more, kept spare).
type chunkFIFO[T any] struct {
	chunks     [][]T
	base       uint64 // absolute position of chunks[0][0]
	head, tail uint64
	spare      []T
	shift      uint
}

func newChunkFIFO[T any](shift uint) chunkFIFO[T] { return chunkFIFO[T]{shift: shift} }

func (f *chunkFIFO[T]) len() uint64 { return f.tail - f.head }

func (f *chunkFIFO[T]) size() uint64 { return 1 << f.shift }

// at returns the element at absolute position i (head <= i < tail).
func (f *chunkFIFO[T]) at(i uint64) *T {
	return &f.chunks[(i-f.base)>>f.shift][i&(f.size()-1)]
}

// room makes sure the chunk holding position tail exists.
func (f *chunkFIFO[T]) room() {
	if f.tail-f.base < uint64(len(f.chunks))<<f.shift {
		return
	}
	c := f.spare
	f.spare = nil
	if c == nil {
		c = make([]T, f.size())
	}
	f.chunks = append(f.chunks, c)
}

func (f *chunkFIFO[T]) push(v T) {
	f.room()
	*f.at(f.tail) = v
	f.tail++
}

// pushAll appends vs.
func (f *chunkFIFO[T]) pushAll(vs []T) {
	for len(vs) > 0 {
		f.room()
		c := f.chunks[(f.tail-f.base)>>f.shift]
		k := copy(c[f.tail&(f.size()-1):], vs)
		vs = vs[k:]
		f.tail += uint64(k)
	}
}

// read copies len(dst) elements from position from into dst.
func (f *chunkFIFO[T]) read(dst []T, from uint64) {
	for len(dst) > 0 {
		c := f.chunks[(from-f.base)>>f.shift]
		k := copy(dst, c[from&(f.size()-1):])
		dst = dst[k:]
		from += uint64(k)
	}
}

// popTo drops the elements before position i.
func (f *chunkFIFO[T]) popTo(i uint64) {
	f.head = i
	for f.head-f.base >= f.size() {
		var zero T
		c := f.chunks[0]
		for j := range c {
			c[j] = zero
		}
		f.spare = c
		f.chunks[0] = nil
		f.chunks = f.chunks[1:]
		f.base += f.size()
	}
	if f.head == f.tail && len(f.chunks) == 0 {
		f.base = f.head &^ (f.size() - 1)
	}
}

// startAt empties the queue, whose next position is then i.
func (f *chunkFIFO[T]) startAt(i uint64) {
	*f = chunkFIFO[T]{shift: f.shift, head: i, tail: i}
	f.base = i &^ (f.size() - 1)
}

// reset empties the queue, keeping positions increasing.
func (f *chunkFIFO[T]) reset() {
	f.popTo(f.tail)
}
