package window

import "math"

// shedRequest holds a Shed request (stream.Shedder) until the operator's
// next Process or Advance call applies it, before anything else that call
// does. Requests made between two calls do not add up: the largest
// fraction asked wins. A fraction above 1 means 1; at or below 0 (or NaN)
// it asks for nothing.
type shedRequest struct{ frac float64 }

func (r *shedRequest) ask(fraction float64) {
	if fraction > 1 {
		fraction = 1
	}
	if fraction > r.frac { // false for NaN
		r.frac = fraction
	}
}

// due reports a request waiting: the only cost of shedding on the hot path.
func (r *shedRequest) due() bool { return r.frac > 0 }

// take returns the fraction asked and clears the request.
func (r *shedRequest) take() float64 {
	f := r.frac
	r.frac = 0
	return f
}

// shedCount is how many of n items a fraction drops: ceil(fraction × n),
// at least 1 and at most n (the product is shaved by a relative 1e-12 so
// that 0.7 × 10, 7.000000000000001 in floating point, drops 7).
func shedCount(fraction float64, n int) int {
	if n <= 0 || !(fraction > 0) {
		return 0
	}
	return max(1, min(n, int(math.Ceil(fraction*float64(n)*(1-1e-12)))))
}

// shedWhat is the eviction log's note for state shed under the memory
// budget.
const shedWhat = "state shed for the memory budget (stream.Config.MemoryBudget), oldest first"
