// Package shopgen generates the web-shop example's data set
// (examples/webshop): shop events as JSON lines (logins, item views, carts,
// purchases and failed payments), deterministically from a seed, with
// planted patterns whose truth it reports: abandoned carts and completed
// ones (some exactly at the 30-minute bound), payment-fraud shapes (three
// failed payments then a purchase within 10 minutes) and near misses,
// logins from new devices (and devices coming back exactly 7 days, or 7
// days and a second, after their last use), and browsing sprees (5
// distinct items viewed within 10 minutes) and near misses.
//
// A user's sessions start in distinct two-hour slots and end within 80
// minutes of their slot's start, so a planted pattern never meets another
// session's events within any of the patterns' bounds.
package shopgen

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"
)

// The bounds of the patterns the job looks for (examples/webshop/job.yaml).
const (
	AbandonWithin = 30 * time.Minute   // a cart with no purchase in this is abandoned
	FraudWithin   = 10 * time.Minute   // 3 failed payments then a purchase in this
	FraudFailures = 3                  // failed payments before the purchase
	DeviceMemory  = 7 * 24 * time.Hour // a device unused this long is new again
	SpreeItems    = 5                  // distinct items viewed ...
	SpreeWithin   = 10 * time.Minute   // ... in this
)

// Kinds of events.
const (
	Login         = "login"
	View          = "view"
	Cart          = "cart"
	Purchase      = "purchase"
	PaymentFailed = "payment_failed"
)

// Config sizes a data set. Zero values mean the defaults.
type Config struct {
	Seed     uint64
	Users    int // default 150
	Items    int // the catalog, default 60
	Days     int // the span, default 10 (at least 8: devices come back after 7 days)
	Sessions int // background sessions, default 600
	// Abandoned plants carts no purchase follows within 30 minutes (every
	// third one followed by a purchase at 30 minutes and 1 second);
	// Completed carts a purchase follows within 30 minutes (every third at
	// exactly 30 minutes, every fourth after two carts).
	Abandoned, Completed int
	// Fraud plants 3 failed payments then a purchase within 10 minutes of
	// the first (every third at exactly 10 minutes; every fourth after 4
	// failures, the first of them 11 minutes before the purchase, so the
	// match starts at the second; every fifth followed by another failure
	// and purchase, which make no second match: the next match starts
	// after the purchase). NearMisses plants shapes that must not match:
	// the purchase 10 minutes and 1 second after the first of 3 failures,
	// or only 2 failures.
	Fraud, NearMisses int
	// NewDevices plants logins from a device the user never used.
	// Returns plants devices used once, then again exactly 7 days later
	// (not new: seen within the 7 days) or 7 days and 1 second later (new).
	NewDevices, Returns int
	// Sprees plants 6 views of distinct items, the 5th within 10 minutes of
	// the 1st (every third at exactly 10 minutes; every fourth views the
	// 1st item again before the 5th); SpreeNearMisses 5
	// distinct items over 10 minutes and 1 second.
	Sprees, SpreeNearMisses int
	// Duplicates is the share of events delivered twice (the copy up to
	// 30 seconds after the original).
	Duplicates float64
	// MaxDelay shuffles arrival: each event arrives up to this much event
	// time after its time.
	MaxDelay time.Duration
	Start    time.Time // default 2026-11-02T00:00:00Z
}

// Event is one shop event. Logins have no item nor amount.
type Event struct {
	ID     int64     `json:"event_id"`
	User   string    `json:"user"`
	Kind   string    `json:"kind"`
	Item   string    `json:"item,omitempty"`
	Amount float64   `json:"amount,omitempty"`
	Device string    `json:"device"`
	Time   time.Time `json:"time"`
}

// Fraud is a planted fraud shape: the purchase that completes it, and the
// failed payment its match starts with.
type Fraud struct {
	Purchase     int64
	FirstFailure int64
	First        time.Time
}

// Truth is what the generator planted, by event id.
type Truth struct {
	Abandoned  []int64 // carts no purchase of the user follows within 30 minutes
	Completed  []int64 // carts a purchase follows within 30 minutes
	Fraud      []Fraud
	NearMisses []int64 // purchases after failed payments that make no fraud shape
	NewDevices []int64 // logins from a device the user has not used in the 7 days before
	Known      []int64 // logins from a device the user used exactly 7 days before
	Sprees     []int64 // views bringing a user's distinct items in 10 minutes to 5
	SpreeMiss  []int64 // views of a 5th distinct item 10 minutes and 1 second after the 1st
}

// Data is a generated data set; Events is in arrival order (duplicates
// included).
type Data struct {
	Events []Event
	Truth  Truth
}

// Sample is the data set committed beside the example's job file.
var Sample = Config{Seed: 16, Abandoned: 24, Completed: 18, Fraud: 12, NearMisses: 10, NewDevices: 12, Returns: 8,
	Sprees: 10, SpreeNearMisses: 6, Duplicates: 0.02, MaxDelay: time.Minute}

const (
	slot      = 2 * time.Hour
	slotsADay = int(24 * time.Hour / slot)
)

type gen struct {
	cfg     Config
	r       *rand.Rand
	evs     []Event
	busy    []map[int]bool // per user, the slots holding a session
	devices [][]string     // per user, its usual devices
	used    map[string]bool
	prices  []float64
	slots   int
}

// Generate makes a data set.
func Generate(cfg Config) *Data {
	if cfg.Users <= 0 {
		cfg.Users = 150
	}
	if cfg.Items <= 0 {
		cfg.Items = 60
	}
	if cfg.Days <= 0 {
		cfg.Days = 10
	}
	cfg.Days = max(cfg.Days, 8)
	if cfg.Sessions <= 0 {
		cfg.Sessions = 600
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	}
	g := &gen{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x5409)), used: map[string]bool{}, slots: cfg.Days * slotsADay}
	for i := 0; i < cfg.Items; i++ {
		g.prices = append(g.prices, float64(199+g.r.IntN(19800))/100)
	}
	for u := 0; u < cfg.Users; u++ {
		g.busy = append(g.busy, map[int]bool{})
		var ds []string
		for k := 0; k < 1+g.r.IntN(3); k++ {
			ds = append(ds, g.device())
		}
		g.devices = append(g.devices, ds)
	}
	var truth Truth
	for i := 0; i < cfg.Sessions; i++ {
		g.background()
	}
	for i := 0; i < cfg.Abandoned; i++ {
		s := g.session(g.pick())
		s.views(1 + g.r.IntN(3))
		cart := s.add(Cart, s.item, 10+g.r.IntN(60))
		truth.Abandoned = append(truth.Abandoned, cart.ID)
		if i%3 == 0 {
			s.at(cart.Time.Add(AbandonWithin+time.Second), Purchase, s.item)
		}
	}
	for i := 0; i < cfg.Completed; i++ {
		s := g.session(g.pick())
		s.views(1 + g.r.IntN(3))
		cart := s.add(Cart, s.item, 10+g.r.IntN(60))
		carts := []Event{cart}
		if i%4 == 3 {
			s.views(1)
			carts = append(carts, s.add(Cart, s.item, 10+g.r.IntN(60)))
		}
		after := time.Duration(1+g.r.IntN(29)) * time.Minute
		if i%3 == 0 {
			after = AbandonWithin
		}
		s.at(cart.Time.Add(after), Purchase, s.item)
		for _, c := range carts {
			truth.Completed = append(truth.Completed, c.ID)
		}
	}
	for i := 0; i < cfg.Fraud; i++ {
		s := g.session(g.pick())
		s.views(1 + g.r.IntN(2))
		s.add(Cart, s.item, 10+g.r.IntN(60))
		first := s.add(PaymentFailed, s.item, 20+g.r.IntN(60))
		var f Fraud
		if i%4 == 3 {
			// Four failures: the purchase is 11 minutes after the first, so
			// the match starts at the second (within 10 minutes of it).
			second := s.at(first.Time.Add(2*time.Minute), PaymentFailed, s.item)
			s.at(first.Time.Add(4*time.Minute), PaymentFailed, s.item)
			s.at(first.Time.Add(7*time.Minute), PaymentFailed, s.item)
			p := s.at(first.Time.Add(11*time.Minute), Purchase, s.item)
			f = Fraud{Purchase: p.ID, FirstFailure: second.ID, First: second.Time}
		} else {
			span := time.Duration(4*(45+g.r.IntN(105))) * time.Second // a multiple of 4 s
			if i%3 == 0 {
				span = FraudWithin
			}
			s.at(first.Time.Add(span/4), PaymentFailed, s.item)
			s.at(first.Time.Add(span/2), PaymentFailed, s.item)
			p := s.at(first.Time.Add(span), Purchase, s.item)
			f = Fraud{Purchase: p.ID, FirstFailure: first.ID, First: first.Time}
		}
		truth.Fraud = append(truth.Fraud, f)
		if i%5 == 1 {
			// A retry after the purchase: with the failures before it, it
			// would make another shape, but the next match starts after the
			// purchase.
			s.add(PaymentFailed, s.item, 20)
			truth.NearMisses = append(truth.NearMisses, s.add(Purchase, s.item, 20).ID)
		}
	}
	for i := 0; i < cfg.NearMisses; i++ {
		s := g.session(g.pick())
		s.views(1 + g.r.IntN(2))
		s.add(Cart, s.item, 10+g.r.IntN(60))
		first := s.add(PaymentFailed, s.item, 20+g.r.IntN(60))
		var p Event
		if i%2 == 0 {
			s.at(first.Time.Add(3*time.Minute), PaymentFailed, s.item)
			s.at(first.Time.Add(6*time.Minute), PaymentFailed, s.item)
			p = s.at(first.Time.Add(FraudWithin+time.Second), Purchase, s.item)
		} else {
			s.add(PaymentFailed, s.item, 30+g.r.IntN(90))
			p = s.add(Purchase, s.item, 30+g.r.IntN(90))
		}
		truth.NearMisses = append(truth.NearMisses, p.ID)
	}
	for i := 0; i < cfg.NewDevices; i++ {
		u := g.pick()
		s := g.sessionOn(u, g.freeSlot(u, 0), g.device())
		truth.NewDevices = append(truth.NewDevices, s.login.ID)
		s.views(1 + g.r.IntN(3))
	}
	for i := 0; i < cfg.Returns; i++ {
		u := g.pick()
		sl := g.freeSlot(u, g.slots-int(DeviceMemory/slot)-1)
		back := sl + int(DeviceMemory/slot)
		for g.busy[u][back] {
			u = g.pick()
			sl = g.freeSlot(u, g.slots-int(DeviceMemory/slot)-1)
			back = sl + int(DeviceMemory/slot)
		}
		d := g.device()
		s := g.sessionOn(u, sl, d)
		truth.NewDevices = append(truth.NewDevices, s.login.ID)
		s.views(1 + g.r.IntN(2))
		later := s.login.Time.Add(DeviceMemory)
		if i%2 == 1 {
			later = later.Add(time.Second)
		}
		g.busy[u][back] = true
		s2 := g.sessionAt(u, later, d)
		if i%2 == 1 {
			truth.NewDevices = append(truth.NewDevices, s2.login.ID)
		} else {
			truth.Known = append(truth.Known, s2.login.ID)
		}
		s2.views(1 + g.r.IntN(2))
	}
	for i := 0; i < cfg.Sprees+cfg.SpreeNearMisses; i++ {
		s := g.session(g.pick())
		items := g.r.Perm(cfg.Items)[:SpreeItems+1]
		first := s.add(View, fmt.Sprintf("sku-%03d", items[0]), 10+g.r.IntN(60))
		offsets := []time.Duration{90 * time.Second, 3 * time.Minute, 5 * time.Minute}
		last := time.Duration(6+g.r.IntN(4))*time.Minute + time.Duration(g.r.IntN(60))*time.Second
		switch {
		case i >= cfg.Sprees:
			last = SpreeWithin + time.Second
		case i%3 == 0:
			last = SpreeWithin
		}
		for k, off := range offsets {
			s.at(first.Time.Add(off), View, fmt.Sprintf("sku-%03d", items[k+1]))
			if k == 1 && i < cfg.Sprees && i%4 == 1 {
				// The first item again: it counts at its latest view.
				s.at(first.Time.Add(4*time.Minute), View, fmt.Sprintf("sku-%03d", items[0]))
			}
		}
		fifth := s.at(first.Time.Add(last), View, fmt.Sprintf("sku-%03d", items[4]))
		if i >= cfg.Sprees {
			truth.SpreeMiss = append(truth.SpreeMiss, fifth.ID)
		} else {
			truth.Sprees = append(truth.Sprees, fifth.ID)
			s.at(fifth.Time.Add(time.Minute), View, fmt.Sprintf("sku-%03d", items[5]))
		}
	}
	return &Data{Events: g.arrival(), Truth: truth}
}

func (g *gen) device() string {
	kinds := []string{"ios", "android", "mac", "win", "linux"}
	for {
		d := fmt.Sprintf("%s-%06x", kinds[g.r.IntN(len(kinds))], g.r.IntN(1<<24))
		if !g.used[d] {
			g.used[d] = true
			return d
		}
	}
}

func (g *gen) pick() int { return g.r.IntN(g.cfg.Users) }

// freeSlot returns a random slot of user u holding no session, below
// limit if it is positive.
func (g *gen) freeSlot(u, limit int) int {
	if limit <= 0 {
		limit = g.slots
	}
	for {
		s := g.r.IntN(limit)
		if !g.busy[u][s] {
			return s
		}
	}
}

// session is a session being generated: its user, device, last event and
// the item it is about.
type session struct {
	g      *gen
	user   int
	device string
	login  Event
	last   time.Time
	item   string
}

// session starts a session of user u in a free slot, on one of its usual
// devices.
func (g *gen) session(u int) *session {
	ds := g.devices[u]
	return g.sessionOn(u, g.freeSlot(u, 0), ds[g.r.IntN(len(ds))])
}

func (g *gen) sessionOn(u, sl int, device string) *session {
	g.busy[u][sl] = true
	at := g.cfg.Start.Add(time.Duration(sl)*slot + time.Duration(g.r.IntN(30*60))*time.Second)
	return g.sessionAt(u, at, device)
}

func (g *gen) sessionAt(u int, at time.Time, device string) *session {
	s := &session{g: g, user: u, device: device, last: at}
	s.login = s.at(at, Login, "")
	return s
}

// at adds an event at a time.
func (s *session) at(t time.Time, kind, item string) Event {
	g := s.g
	e := Event{ID: int64(len(g.evs) + 1), User: fmt.Sprintf("u%03d", s.user), Kind: kind, Item: item, Device: s.device, Time: t}
	if item != "" {
		var n int
		fmt.Sscanf(item, "sku-%d", &n)
		e.Amount = g.prices[n]
	}
	g.evs = append(g.evs, e)
	s.last = t
	return e
}

// add adds an event gap seconds after the session's last.
func (s *session) add(kind, item string, gap int) Event {
	return s.at(s.last.Add(time.Duration(gap)*time.Second), kind, item)
}

// views adds n views of random items, a few seconds to 3 minutes apart;
// the session is then about the last item viewed.
func (s *session) views(n int) {
	for k := 0; k < n; k++ {
		s.item = fmt.Sprintf("sku-%03d", s.g.r.IntN(s.g.cfg.Items))
		s.add(View, s.item, 5+s.g.r.IntN(175))
	}
}

// background adds an ordinary session: a login, views (some in the same
// second), maybe a cart, maybe a purchase (maybe after a failed payment).
func (g *gen) background() {
	s := g.session(g.pick())
	for k := 0; k < 1+g.r.IntN(6); k++ {
		s.item = fmt.Sprintf("sku-%03d", g.r.IntN(g.cfg.Items))
		gap := 5 + g.r.IntN(175)
		if g.r.IntN(10) == 0 {
			gap = 0
		}
		s.add(View, s.item, gap)
	}
	if g.r.IntN(3) > 0 {
		return
	}
	s.add(Cart, s.item, g.r.IntN(120))
	if g.r.IntN(5) < 2 {
		return
	}
	if g.r.IntN(8) == 0 {
		s.add(PaymentFailed, s.item, 20+g.r.IntN(100))
	}
	s.add(Purchase, s.item, g.r.IntN(25*60))
}

// arrival returns the events in arrival order: each delayed by up to
// MaxDelay, some delivered twice; ties by id.
func (g *gen) arrival() []Event {
	type arrival struct {
		at time.Time
		e  Event
	}
	var arr []arrival
	for _, e := range g.evs {
		delay := time.Duration(0)
		if g.cfg.MaxDelay > 0 {
			delay = time.Duration(g.r.Int64N(int64(g.cfg.MaxDelay)))
		}
		arr = append(arr, arrival{e.Time.Add(delay), e})
		if g.r.Float64() < g.cfg.Duplicates {
			arr = append(arr, arrival{e.Time.Add(delay + time.Duration(g.r.Int64N(int64(30*time.Second)))), e})
		}
	}
	slices.SortStableFunc(arr, func(a, b arrival) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.e.ID, b.e.ID)) })
	out := make([]Event, len(arr))
	for i, a := range arr {
		out[i] = a.e
	}
	return out
}

// WriteEvents writes events as JSON lines, times in RFC 3339.
func WriteEvents(w io.Writer, evs []Event) error {
	bw := bufio.NewWriter(w)
	for _, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
