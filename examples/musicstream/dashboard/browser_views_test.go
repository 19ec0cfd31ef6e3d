package dashboard

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// pageState is what the range test reads of the dashboard after each click.
type pageState struct {
	Range   string `json:"range"`
	Search  string `json:"search"`
	Pressed string `json:"pressed"`
	Hours   int    `json:"hours"`
	Model   int    `json:"model"`
	Info    string `json:"info"`
	First   string `json:"first"` // the first label of the plays chart
	Errors  string `json:"errors"`
}

const readPage = `({
  range: document.body.dataset.range, search: location.search,
  pressed: document.querySelector('#ranges button[aria-pressed="true"]').dataset.range,
  hours: +document.getElementById("chart-hours").dataset.points, model: +document.getElementById("chart-model").dataset.points,
  info: document.getElementById("range-info").textContent,
  first: (document.querySelector("#chart-hours text[text-anchor=middle]") || {}).textContent || "",
  errors: document.body.dataset.jsErrors })`

// TestRangePickerInBrowser clicks through the time-range picker in
// headless Chromium (DevTools protocol) and checks that each click changes
// the plays chart, the model chart and the page's URL; it saves a
// screenshot of the 7-day view (dashboard-range.png).
func TestRangePickerInBrowser(t *testing.T) {
	bin := chromium(t)
	d := served(t, 20000, func(c *Config) { c.Sources = someSources }) // 42 hours of plays
	seedModel(t, d)
	srv := httptest.NewServer(d)
	defer srv.Close()
	b := startBrowser(t, bin, 1400, 1000)
	b.navigate(srv.URL + "/")
	b.waitFor(`document.body.dataset.range === "24h" && document.body.dataset.status === "ok"`)
	var st pageState
	b.eval(readPage, &st)
	if st.Pressed != "24h" || st.Hours != 24 || st.Model != 6 || st.Search != "" {
		t.Errorf("before any click: %+v", st)
	}
	want := map[string]func(pageState) bool{
		"1h": func(s pageState) bool {
			return s.Hours == 1 && s.Model == 1 && strings.HasPrefix(s.Info, "last hour · 1 hours")
		},
		"7d": func(s pageState) bool {
			return s.Hours == 42 && s.Model == 42 && strings.HasPrefix(s.Info, "last 7 days · 42 hours")
		},
		"all": func(s pageState) bool { return s.Hours == 2 && s.Model == 61 && len(s.First) == 5 }, // two days, "01/10"
		"24h": func(s pageState) bool { return s.Hours == 24 && s.Model == 6 },
	}
	for _, r := range []string{"1h", "7d", "all", "24h"} {
		b.click(`#ranges button[data-range="` + r + `"]`)
		b.waitFor(`document.body.dataset.range === "` + r + `" && document.body.dataset.status === "ok"`)
		b.eval(readPage, &st)
		if st.Pressed != r || st.Search != "?range="+r || !want[r](st) {
			t.Errorf("after clicking %s: %+v", r, st)
		}
		if r == "7d" {
			saveShot(t, "dashboard-range.png", b.screenshot())
		}
	}
	// The URL keeps the range: a reload shows it again.
	b.navigate(srv.URL + "/?range=1h")
	b.waitFor(`document.body.dataset.range === "1h" && document.body.dataset.status === "ok"`)
	if b.eval(readPage, &st); st.Pressed != "1h" || st.Hours != 1 || st.Errors != "0" || len(b.errors) > 0 {
		t.Errorf("reloaded with ?range=1h: %+v, exceptions %v", st, b.errors)
	}
}

// customerView is what the customer test reads of the page.
type customerView struct {
	Title    string   `json:"title"`
	Rows     int      `json:"rows"`
	Offset   string   `json:"offset"`
	Tracks   []string `json:"tracks"`
	Times    []string `json:"times"`
	Interest int      `json:"interest"`
	Ads      int      `json:"ads"`
	Hours    int      `json:"hours"`
	Profile  string   `json:"profile"`
	Imgs     int      `json:"imgs"`
	Pwned    bool     `json:"pwned"`
	Errors   string   `json:"errors"`
	Status   string   `json:"status"`
}

const readCustomer = `(function () {
  var rows = Array.from(document.querySelectorAll("#plays tbody tr:not(.empty)"));
  return { title: document.querySelector("h1").textContent, rows: rows.length, offset: document.body.dataset.playsOffset,
    tracks: rows.map(function (r) { return r.cells[1].textContent; }), times: rows.map(function (r) { return r.cells[0].textContent; }),
    interest: +document.getElementById("interest").dataset.rows, ads: +document.getElementById("ads").dataset.rows,
    hours: +document.getElementById("chart-cust-hours").dataset.points, profile: document.getElementById("profile").textContent,
    imgs: document.querySelectorAll("main img, main script").length, pwned: document.body.dataset.pwned === "1",
    errors: document.body.dataset.jsErrors, status: document.getElementById("status").textContent };
})()`

// TestCustomerPageInBrowser opens the page of a customer with plays, an
// interest list and an ad, whose latest track has a title made of markup;
// checks the sections, that the title shows as text, and paging; saves a
// screenshot (dashboard-customer.png); and opens an unknown customer.
func TestCustomerPageInBrowser(t *testing.T) {
	bin := chromium(t)
	d := served(t, 20000, func(c *Config) { c.PageSize = 10 })
	rdb, p, ctx := d.cfg.Redis, d.cfg.Prefix, context.Background()
	cust := busiest(t, d)
	latest := rdb.ZRevRange(ctx, p+PlaysKey+cust, 0, 0).Val()[0]
	pl, _ := decodePlay(redis.Z{Member: latest})
	evil := `<img src=x onerror="document.body.dataset.pwned=1">Hot & "Cold"`
	rdb.HSet(ctx, p+"track:"+pl.TrackID, "title", evil)
	srv := httptest.NewServer(d)
	defer srv.Close()

	b := startBrowser(t, bin, 1400, 1000)
	b.navigate(srv.URL + "/customer/" + cust)
	b.waitFor(`document.body.dataset.status === "ok" && document.getElementById("plays").dataset.rows !== "0"`)
	var v customerView
	b.eval(readCustomer, &v)
	name := rdb.HGet(ctx, p+"customer:"+cust, "name").Val()
	if !strings.Contains(v.Title, cust) || !strings.Contains(v.Title, name) || !strings.Contains(v.Profile, name) {
		t.Errorf("title %q, profile %q; want customer %s, %s", v.Title, v.Profile, cust, name)
	}
	if v.Rows != 10 || v.Offset != "0" || v.Interest == 0 || v.Ads == 0 || v.Hours != 24 || v.Errors != "0" {
		t.Errorf("first view: %+v", v)
	}
	if !strings.HasPrefix(v.Tracks[0], evil+" — ") || v.Imgs != 0 || v.Pwned {
		t.Errorf("a title of markup: shown as %q; %d img or script elements, pwned %v", v.Tracks[0], v.Imgs, v.Pwned)
	}
	for _, tr := range v.Tracks {
		if strings.HasPrefix(tr, "track ") {
			t.Errorf("a play without its title: %q", tr)
		}
	}
	saveShot(t, "dashboard-customer.png", b.screenshot())

	first := v
	b.click("#plays-older")
	b.waitFor(`document.body.dataset.playsOffset === "10" && document.body.dataset.status === "ok"`)
	v = customerView{} // not into first's slices
	b.eval(readCustomer, &v)
	if v.Rows == 0 || v.Times[0] > first.Times[len(first.Times)-1] {
		t.Errorf("older page: %d rows from %v; the first page ended at %s", v.Rows, v.Times[:min(1, len(v.Times))], first.Times[len(first.Times)-1])
	}
	b.click("#plays-newer")
	b.waitFor(`document.body.dataset.playsOffset === "0" && document.body.dataset.status === "ok"`)
	if b.eval(readCustomer, &v); v.Times[0] != first.Times[0] || v.Errors != "0" || len(b.errors) > 0 {
		t.Errorf("back to the newest: %v; exceptions %v", v.Times[:1], b.errors)
	}

	b.navigate(srv.URL + "/customer/999999")
	var msg string
	b.eval(`document.getElementById("status").textContent`, &msg)
	if !strings.Contains(msg, "unknown customer 999999") {
		t.Errorf("unknown customer: %q", msg)
	}
}

// busiest returns the customer with the most recorded plays among those
// with an interest list and an entry in queue:ads.
func busiest(t *testing.T, d *Dashboard) string {
	t.Helper()
	rdb, p, ctx := d.cfg.Redis, d.cfg.Prefix, context.Background()
	ads := map[string]bool{}
	for _, m := range rdb.XRange(ctx, p+"queue:ads", "-", "+").Val() {
		ads[m.Values["customer_id"].(string)] = true
	}
	best, most := "", int64(0)
	for _, k := range rdb.Keys(ctx, p+"interest:*").Val() {
		c := strings.TrimPrefix(k, p+"interest:")
		if n := rdb.ZCard(ctx, p+PlaysKey+c).Val(); ads[c] && n > most {
			best, most = c, n
		}
	}
	if most <= 10 {
		t.Fatalf("no customer with an interest list, an ad and more than 10 plays (best %q, %d)", best, most)
	}
	return best
}
