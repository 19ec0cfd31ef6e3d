// Package logingen generates the login-security example's data set
// (examples/logins): login events as JSON lines and the accounts they join,
// deterministically from a seed, with planted patterns: bursts of failed
// logins (brute force), near misses that must not match, admin logins
// without MFA, and hours of many failures from one country.
package logingen

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Config sizes a data set. Zero values mean the defaults.
type Config struct {
	Seed   uint64
	Users  int // default 300
	Logins int // background logins, default 8000
	// Bursts plants users failing 6 times within 5 minutes; NearMisses
	// users failing 5 times over 11 minutes.
	Bursts, NearMisses int
	// Spikes plants hours with 25 failures from one country.
	Spikes int
	// Duplicates is the share of logins delivered twice.
	Duplicates float64
	// MaxDelay shuffles arrival by up to this much event time.
	MaxDelay time.Duration
	Start    time.Time // default 2026-10-01T00:00:00Z
}

// Login is one login attempt.
type Login struct {
	ID      int64     `json:"login_id"`
	User    string    `json:"user"`
	IP      string    `json:"ip"`
	Country string    `json:"country"`
	OK      bool      `json:"ok"`
	Time    time.Time `json:"time"`
}

// Account is a user's account: its plan, whether it is an admin and has
// multi-factor authentication.
type Account struct {
	User  string
	Plan  string
	Admin bool
	MFA   bool
}

// Data is a generated data set; Logins is in arrival order (duplicates
// included).
type Data struct {
	Logins   []Login
	Accounts []Account
}

var countries = []string{"de", "fr", "us", "br", "in", "jp", "ng", "au"}

// Generate makes a data set.
func Generate(cfg Config) *Data {
	if cfg.Users <= 0 {
		cfg.Users = 300
	}
	if cfg.Logins <= 0 {
		cfg.Logins = 8000
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x10915))
	d := &Data{}
	home := make([]string, cfg.Users)
	for i := 0; i < cfg.Users; i++ {
		a := Account{User: fmt.Sprintf("u%03d", i), Plan: []string{"free", "pro", "team"}[r.IntN(3)], Admin: r.IntN(10) == 0, MFA: r.IntN(3) > 0}
		d.Accounts = append(d.Accounts, a)
		home[i] = countries[r.IntN(len(countries))]
	}
	span := 48 * time.Hour
	var id int64
	add := func(user int, ok bool, at time.Time, country string) {
		id++
		d.Logins = append(d.Logins, Login{ID: id, User: d.Accounts[user].User, OK: ok, Time: at.Truncate(time.Second),
			IP: fmt.Sprintf("10.%d.%d.%d", user%250, r.IntN(4), 1+r.IntN(250)), Country: country})
	}
	for i := 0; i < cfg.Logins; i++ {
		u := r.IntN(cfg.Users)
		add(u, r.IntN(20) > 0, cfg.Start.Add(time.Duration(r.Int64N(int64(span)))), home[u])
	}
	for i := 0; i < cfg.Bursts; i++ {
		u, at := r.IntN(cfg.Users), cfg.Start.Add(time.Duration(r.Int64N(int64(span))))
		for k := 0; k < 6; k++ {
			add(u, false, at.Add(time.Duration(k)*time.Minute), home[u])
		}
	}
	for i := 0; i < cfg.NearMisses; i++ {
		u, at := r.IntN(cfg.Users), cfg.Start.Add(time.Duration(r.Int64N(int64(span))))
		for k := 0; k < 5; k++ {
			add(u, false, at.Add(time.Duration(k)*165*time.Second), home[u])
		}
	}
	for i := 0; i < cfg.Spikes; i++ {
		c := countries[r.IntN(len(countries))]
		hour := cfg.Start.Add(time.Duration(r.IntN(48)) * time.Hour)
		for k := 0; k < 25; k++ {
			add(r.IntN(cfg.Users), false, hour.Add(time.Duration(r.Int64N(int64(time.Hour)))), c)
		}
	}
	// Arrival: event-time order, each login delayed by up to MaxDelay;
	// some delivered twice.
	type arrival struct {
		at time.Time
		l  Login
	}
	var arr []arrival
	for _, l := range d.Logins {
		delay := time.Duration(0)
		if cfg.MaxDelay > 0 {
			delay = time.Duration(r.Int64N(int64(cfg.MaxDelay)))
		}
		arr = append(arr, arrival{l.Time.Add(delay), l})
		if r.Float64() < cfg.Duplicates {
			arr = append(arr, arrival{l.Time.Add(delay + time.Second), l})
		}
	}
	slices.SortStableFunc(arr, func(a, b arrival) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.l.ID, b.l.ID)) })
	d.Logins = d.Logins[:0]
	for _, a := range arr {
		d.Logins = append(d.Logins, a.l)
	}
	return d
}

// Sample is the data set committed beside the example's job file.
var Sample = Config{Seed: 7, Bursts: 12, NearMisses: 6, Spikes: 4, Duplicates: 0.01, MaxDelay: time.Minute}

// WriteLogins writes logins as JSON lines, times in RFC 3339.
func WriteLogins(w io.Writer, ls []Login) error {
	bw := bufio.NewWriter(w)
	for _, l := range ls {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// WriteAccounts writes the accounts as CSV with a header of the hash
// fields: user, plan, admin, mfa (bools as 1/0).
func WriteAccounts(w io.Writer, as []Account) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("user,plan,admin,mfa\n")
	b := func(v bool) string { return strconv.Itoa(map[bool]int{false: 0, true: 1}[v]) }
	for _, a := range as {
		bw.WriteString(a.User + "," + a.Plan + "," + b(a.Admin) + "," + b(a.MFA) + "\n")
	}
	return bw.Flush()
}
