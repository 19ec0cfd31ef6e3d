package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// getJSON GETs url, decodes the answer into out and returns the status.
func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode
}

// TestCustomerPageData reads a customer's page and pages through every
// section to its end: the plays held, newest first, with their titles; the
// customer's ads found among at most QueueScan entries per request, until
// the whole queue was searched.
func TestCustomerPageData(t *testing.T) {
	d := served(t, 3000, func(c *Config) { c.PageSize, c.QueueScan = 3, 40 })
	rdb, p, ctx := d.cfg.Redis, d.cfg.Prefix, context.Background()
	srv := httptest.NewServer(d)
	defer srv.Close()
	oldest, err := rdb.XRangeN(ctx, p+"queue:ads", "-", "+", 1).Result()
	if err != nil || len(oldest) != 1 {
		t.Fatalf("queue:ads: %v, %v", oldest, err)
	}
	cust := oldest[0].Values["customer_id"].(string) // the entry the scan reaches last

	var cs CustomerState
	if code := getJSON(t, srv.URL+"/api/customer/"+cust, &cs); code != 200 || len(cs.Errors) > 0 {
		t.Fatalf("GET /api/customer/%s: %d, %v", cust, code, cs.Errors)
	}
	held := rdb.ZCard(ctx, p+PlaysKey+cust).Val()
	if cs.ID != cust || cs.Profile["name"] != rdb.HGet(ctx, p+"customer:"+cust, "name").Val() || cs.Profile["name"] == "" ||
		cs.Plays.Total != held || held == 0 || cs.PageSize != 3 || cs.Recorder == nil || cs.Recorder.Keep != 1000 {
		t.Fatalf("customer %s: %+v (held %d)", cust, cs, held)
	}
	var byHour int
	for _, n := range cs.Summary.ByHour {
		byHour += n
	}
	if int64(cs.Summary.Plays) != held || byHour != cs.Summary.Plays || cs.Summary.First > cs.Summary.Last || len(cs.Summary.Zips) == 0 {
		t.Errorf("summary %+v", cs.Summary)
	}

	// The plays, page by page: every play held once, newest first.
	all, page := []Play{}, cs.Plays
	for {
		all = append(all, page.Plays...)
		if len(page.Plays) == 0 || int64(page.Offset+len(page.Plays)) >= page.Total {
			break
		}
		var s Section
		getJSON(t, srv.URL+"/api/customer/"+cust+"/plays?offset="+itoa(page.Offset+len(page.Plays)), &s)
		page = *s.Plays
	}
	ids := map[string]bool{}
	for i, pl := range all {
		ids[pl.EventID] = true
		if pl.Track == nil || pl.Track.Title == "" || pl.Zip == "" || (i > 0 && pl.Time > all[i-1].Time) {
			t.Errorf("play %d: %+v", i, pl)
		}
	}
	if int64(len(all)) != held || len(ids) != len(all) {
		t.Errorf("paged through %d plays (%d distinct), %d held", len(all), len(ids), held)
	}

	// The ads, scan by scan, equal the customer's entries of the whole queue.
	var want, got []string
	msgs, _ := rdb.XRevRange(ctx, p+"queue:ads", "+", "-").Result()
	for _, m := range msgs {
		if m.Values["customer_id"] == cust {
			want = append(want, m.ID)
		}
	}
	qs, scans := cs.Ads, 1
	for {
		if qs.Scanned > 40 {
			t.Errorf("a request examined %d entries", qs.Scanned)
		}
		for _, e := range qs.Entries {
			got = append(got, e["id"])
			if e["customer_id"] != cust || e["title"] == "" {
				t.Errorf("entry %v", e)
			}
		}
		if qs.Next == "" {
			break
		}
		var s Section
		getJSON(t, srv.URL+"/api/customer/"+cust+"/ads?before="+qs.Next, &s)
		qs, scans = *s.Queue, scans+1
	}
	if !slices.Equal(got, want) || len(want) == 0 || scans < len(msgs)/40 {
		t.Errorf("ads found %v in %d scans, want %v (queue of %d)", got, scans, want, len(msgs))
	}

	// An interest list, with titles.
	keys, _ := rdb.Keys(ctx, p+"interest:*").Result()
	if len(keys) == 0 {
		t.Fatal("no interest list")
	}
	who := strings.TrimPrefix(keys[0], p+"interest:")
	getJSON(t, srv.URL+"/api/customer/"+who, &cs)
	if cs.Interest.Total != rdb.ZCard(ctx, keys[0]).Val() || len(cs.Interest.Tracks) == 0 || cs.Interest.Tracks[0].Track == nil {
		t.Errorf("interest of %s: %+v", who, cs.Interest)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// Odd ids are refused, unknown customers are 404 with a message naming
// what was looked for, and nothing the request carries comes back as
// markup.
func TestCustomerPageRefusals(t *testing.T) {
	d := served(t, 1000, func(c *Config) { c.PageSize = 3 })
	srv := httptest.NewServer(d)
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, c := range []struct {
		path  string
		code  int
		ctype string
		has   []string
		hasNo string
	}{
		{"/customer/7", 200, "text/html", []string{`src="../customer.js"`}, ""},
		{"/api/customer/abc", 400, "application/json", []string{`\"abc\" is not a customer id`}, ""},
		{"/api/customer/1234567890123456789", 400, "application/json", []string{"not a customer id"}, ""},
		{"/api/customer/999999", 404, "application/json", []string{"unknown customer 999999", "customer:999999 hash"}, ""},
		{"/customer/999999", 404, "text/html", []string{"unknown customer 999999", `href="../"`}, ""},
		{"/customer/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400, "text/html", []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, "<script>"},
		{"/customer/%22onmouseover=%22x", 400, "text/html", []string{`\&#34;onmouseover=\&#34;x`}, `"onmouseover="`},
		{"/api/customer/7/plays?limit=0", 400, "application/json", []string{"limit"}, ""},
		{"/api/customer/7/plays?limit=13", 400, "application/json", []string{"[1, 12]"}, ""},
		{"/api/customer/7/interest?offset=x", 400, "application/json", []string{"offset"}, ""},
		{"/api/customer/7/ads?before=zzz", 400, "application/json", []string{"not a stream entry id"}, ""},
		{"/api/customer/7/wishlist", 404, "application/json", []string{"no section wishlist"}, ""},
		{"/api/customer/999999/plays", 404, "application/json", []string{"unknown customer"}, ""},
		{"/api/customer/7/plays?offset=1&limit=2", 200, "application/json", []string{`"offset":1`}, ""},
	} {
		code, ctype, body := get(c.path)
		ok := code == c.code && strings.Contains(ctype, c.ctype) && (c.hasNo == "" || !strings.Contains(body, c.hasNo))
		for _, h := range c.has {
			ok = ok && strings.Contains(body, h)
		}
		if !ok {
			t.Errorf("GET %s: %d %s\n%.600s\nwant %d %s with %q", c.path, code, ctype, body, c.code, c.ctype, c.has)
		}
	}
}

func TestPreviousID(t *testing.T) {
	for in, want := range map[string]string{"5-3": "5-2", "5-0": "4-18446744073709551615", "0-1": "0-0", "0-0": ""} {
		if got, err := previousID(in); got != want || err != nil {
			t.Errorf("previousID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "5", "-3", "5-", "a-1", "5-x", "1-2-3"} {
		if _, err := previousID(bad); err == nil {
			t.Errorf("previousID(%q) accepted", bad)
		}
	}
}
