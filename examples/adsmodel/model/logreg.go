package model

import (
	"errors"
	"math"
)

// dim is the number of parameters: the intercept, then the weights.
const dim = NumFeatures + 1

// fit minimizes the mean log-loss of rows plus (l2/2)·|w|² (the intercept
// is not penalized) by Newton's method with a backtracking line search. It
// returns the parameters and the iterations used.
func fit(rows []Row, l2 float64, maxIter int) ([dim]float64, int, error) {
	var theta [dim]float64
	if len(rows) == 0 {
		return theta, 0, errors.New("no rows to train on")
	}
	loss := objective(rows, l2, &theta)
	for it := 1; it <= maxIter; it++ {
		g, h := gradHess(rows, l2, &theta)
		gmax := 0.0
		for _, x := range g {
			gmax = max(gmax, math.Abs(x))
		}
		if gmax < 1e-10 {
			return theta, it - 1, nil
		}
		d, err := solve(h, g)
		if err != nil {
			return theta, it, err
		}
		step := 1.0
		for ; step > 1e-12; step /= 2 {
			next := theta
			for i := range next {
				next[i] -= step * d[i]
			}
			if l := objective(rows, l2, &next); l <= loss {
				theta, loss = next, l
				break
			}
		}
		if step <= 1e-12 {
			return theta, it, nil // no further decrease: at the optimum within precision
		}
	}
	return theta, maxIter, nil
}

func linear(theta *[dim]float64, x *Features) float64 {
	z := theta[0]
	for j, v := range x {
		z += theta[j+1] * v
	}
	return z
}

// softplus is log(1+e^z) without overflow.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func objective(rows []Row, l2 float64, theta *[dim]float64) float64 {
	s := 0.0
	for i := range rows {
		z := linear(theta, &rows[i].X)
		s += softplus(z)
		if rows[i].Label {
			s -= z
		}
	}
	pen := 0.0
	for _, w := range theta[1:] {
		pen += w * w
	}
	return s/float64(len(rows)) + l2/2*pen
}

func gradHess(rows []Row, l2 float64, theta *[dim]float64) ([dim]float64, [dim][dim]float64) {
	var g [dim]float64
	var h [dim][dim]float64
	var x [dim]float64
	x[0] = 1
	for i := range rows {
		copy(x[1:], rows[i].X[:])
		p := sigmoid(linear(theta, &rows[i].X))
		r := p
		if rows[i].Label {
			r--
		}
		w := p * (1 - p)
		for a := range x {
			g[a] += r * x[a]
			for b := 0; b <= a; b++ {
				h[a][b] += w * x[a] * x[b]
			}
		}
	}
	n := float64(len(rows))
	for a := range dim {
		g[a] /= n
		for b := 0; b <= a; b++ {
			h[a][b] /= n
			h[b][a] = h[a][b]
		}
		if a > 0 {
			g[a] += l2 * theta[a]
			h[a][a] += l2
		}
	}
	h[0][0] += 1e-12 // keeps the intercept's pivot positive on saturated data
	return g, h
}

// solve returns x with h·x = g by Gaussian elimination with partial pivoting.
func solve(h [dim][dim]float64, g [dim]float64) ([dim]float64, error) {
	for c := range dim {
		p := c
		for r := c + 1; r < dim; r++ {
			if math.Abs(h[r][c]) > math.Abs(h[p][c]) {
				p = r
			}
		}
		if math.Abs(h[p][c]) < 1e-300 || math.IsNaN(h[p][c]) {
			return g, errors.New("singular Hessian: the features do not determine the model (set L2 > 0)")
		}
		h[c], h[p] = h[p], h[c]
		g[c], g[p] = g[p], g[c]
		for r := c + 1; r < dim; r++ {
			f := h[r][c] / h[c][c]
			for k := c; k < dim; k++ {
				h[r][k] -= f * h[c][k]
			}
			g[r] -= f * g[c]
		}
	}
	var x [dim]float64
	for r := dim - 1; r >= 0; r-- {
		s := g[r]
		for k := r + 1; k < dim; k++ {
			s -= h[r][k] * x[k]
		}
		x[r] = s / h[r][r]
	}
	return x, nil
}
