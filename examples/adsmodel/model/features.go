package model

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// NumFeatures is the number of features.
const NumFeatures = gen.ClickFeatures

// Feature positions in Features.
const (
	Morning = iota
	Afternoon
	Evening
	Night
	Mobile
	Unique
)

// FeatureNames are the features in model order.
var FeatureNames = [NumFeatures]string{"morning", "afternoon", "evening", "night", "mobile", "unique"}

// Features are one customer's features in model order.
type Features [NumFeatures]float64

// String formats f comma-separated, as ad_features is stored.
func (f Features) String() string {
	var b []byte
	for i, x := range f {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
	}
	return string(b)
}

// ParseFeatures parses the comma-separated form String writes.
func ParseFeatures(s string) (Features, error) {
	var f Features
	rest := s
	for i := range NumFeatures {
		part, tail, found := strings.Cut(rest, ",")
		if found != (i < NumFeatures-1) {
			return f, fmt.Errorf("features %q: want %d comma-separated values", s, NumFeatures)
		}
		rest = tail
		x, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
			err = errors.New("not finite")
		}
		if err != nil {
			return f, fmt.Errorf("features %q: %s: %w", s, FeatureNames[i], err)
		}
		f[i] = x
	}
	return f, nil
}

// Row is one customer's training row.
type Row struct {
	CustID int64
	X      Features
	Label  bool // clicked ADV_REDUCED_1DAY
}

type custAcc struct {
	n, mobile, unique int
	hours             [4]int
}

// Builder accumulates plays into per-customer features. Plays are
// deduplicated by event id (the first delivery counts). The zero value is
// not usable: call NewBuilder.
type Builder struct {
	seen  map[int64]struct{}
	pairs map[[2]int64]struct{} // (customer, track) pairs played
	idx   map[int64]int         // customer id -> position in accs
	accs  []custAcc
	ids   []int64
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{seen: make(map[int64]struct{}), pairs: make(map[[2]int64]struct{}), idx: make(map[int64]int)}
}

// Add counts one play; it reports false for a re-delivered event id.
func (b *Builder) Add(eventID, custID, trackID int64, t time.Time, mobile bool) bool {
	if _, dup := b.seen[eventID]; dup {
		return false
	}
	b.seen[eventID] = struct{}{}
	i, ok := b.idx[custID]
	if !ok {
		i = len(b.accs)
		b.idx[custID] = i
		b.accs = append(b.accs, custAcc{})
		b.ids = append(b.ids, custID)
	}
	a := &b.accs[i]
	a.n++
	if mobile {
		a.mobile++
	}
	a.hours[gen.DayPart(t.UTC().Hour())]++
	if _, played := b.pairs[[2]int64{custID, trackID}]; !played {
		b.pairs[[2]int64{custID, trackID}] = struct{}{}
		a.unique++
	}
	return true
}

// AddPlay counts a play (a re-delivered event id is ignored).
func (b *Builder) AddPlay(p gen.Play) {
	b.Add(p.EventID, p.CustomerID, p.TrackID, p.Time, p.Mobile)
}

// AddEvent counts an event of gen.PlaySchema.
func (b *Builder) AddEvent(ev stream.Event) (bool, error) {
	if ev.Schema != gen.PlaySchema || len(ev.Fields) < gen.PlaySchema.Len() {
		return false, fmt.Errorf("model: %s: not a play event", ev.Pos)
	}
	f := ev.Fields
	return b.Add(f[gen.PlayEventID].Int(), f[gen.PlayCustomerID].Int(), f[gen.PlayTrackID].Int(),
		f[gen.PlayDateTime].Time(), f[gen.PlayIsMobile].Bool()), nil
}

// Customers is the number of customers with plays.
func (b *Builder) Customers() int { return len(b.accs) }

// Features returns the features of a customer with plays.
func (b *Builder) Features(custID int64) (Features, bool) {
	i, ok := b.idx[custID]
	if !ok {
		return Features{}, false
	}
	a := &b.accs[i]
	var f Features
	n := float64(a.n)
	for i, h := range a.hours {
		f[i] = float64(h) / n
	}
	f[Mobile] = float64(a.mobile) / n
	f[Unique] = float64(a.unique) / n
	return f, true
}

// Rows joins the customers with plays with their labels (clicked holds the
// customers who clicked ADV_REDUCED_1DAY; a customer absent from it did
// not), sorted by customer id.
func (b *Builder) Rows(clicked map[int64]bool) []Row {
	rows := make([]Row, 0, len(b.ids))
	for _, id := range b.ids {
		f, _ := b.Features(id)
		rows = append(rows, Row{CustID: id, X: f, Label: clicked[id]})
	}
	slices.SortFunc(rows, func(a, b Row) int { return cmp.Compare(a.CustID, b.CustID) })
	return rows
}
