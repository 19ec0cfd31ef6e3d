package alert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

// 2xx is delivered; a 4xx other than 408 and 429 is permanent; the rest
// is retried.
func TestWebhookStatuses(t *testing.T) {
	for _, c := range []struct {
		code      int
		ok, final bool
	}{
		{200, true, false}, {202, true, false}, {204, true, false},
		{400, false, true}, {401, false, true}, {403, false, true}, {404, false, true}, {410, false, true}, {422, false, true},
		{408, false, false}, {429, false, false}, {500, false, false}, {502, false, false}, {503, false, false},
		{304, false, false},
	} {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(c.code) }))
			defer srv.Close()
			err := alert.NewWebhook(srv.URL, nil).Send(context.Background(), alertN(1))
			if (err == nil) != c.ok || alert.IsPermanent(err) != c.final {
				t.Errorf("%d: %v (permanent %v)", c.code, err, alert.IsPermanent(err))
			}
		})
	}
}

// The body is the alert's JSON, its times in TimeFormat; it decodes into
// a metrics.Alert.
func TestWebhookBody(t *testing.T) {
	var body []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		hdr = r.Header
	}))
	defer srv.Close()
	a := metrics.Alert{Source: "plays/3", Kind: metrics.AlertNeverStarted, Observed: 0, Expected: 0.125,
		Since: t0.Add(123456789), At: t0.Add(61 * 1e9)}
	if err := alert.NewWebhook(srv.URL, nil).Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	want := `{"source":"plays/3","kind":"never_started","observed":0,"expected":0.125,"since":"2026-03-02T12:00:00.123Z","at":"2026-03-02T12:01:01.000Z"}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if hdr.Get("Content-Type") != "application/json" || len(hdr.Get("Idempotency-Key")) != 32 {
		t.Errorf("headers %v", hdr)
	}
	var back metrics.Alert
	if err := json.Unmarshal(body, &back); err != nil || back.Source != a.Source || !back.Since.Equal(t0.Add(123e6)) {
		t.Errorf("decoded %+v, %v", back, err)
	}
}

// No error names the URL's password, in any form: a malformed URL, a
// scheme that is not http, a server that is not there, a refusal.
func TestWebhookErrorsHideThePassword(t *testing.T) {
	const pw = "s3cr%2Ft"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad", http.StatusBadRequest)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	gone := fmt.Sprintf("127.0.0.1:%d", testredis.FreePort(t))
	for _, c := range []struct {
		url, want string
		final     bool
	}{
		{"http://ops:" + pw + "@" + host + "/hook", "http://ops:xxxxx@" + host + "/hook replied 400 Bad Request", true},
		{"http://ops:" + pw + "@" + gone + "/hook", "http://ops:xxxxx@" + gone + "/hook: dial tcp", false},
		{"ftp://ops:" + pw + "@" + host + "/hook", "want http:// or https://", true},
		{"http://ops:" + pw + "@host:port\x7f/hook", `"http://ops:xxxxx@host:port\x7f/hook"`, true},
	} {
		err := alert.NewWebhook(c.url, nil).Send(context.Background(), alertN(1))
		if err == nil || !strings.Contains(err.Error(), c.want) || alert.IsPermanent(err) != c.final {
			t.Errorf("%q: %v, want %q (permanent %v)", c.url, err, c.want, c.final)
			continue
		}
		for _, form := range []string{pw, "s3cr/t", "s3cr%252Ft"} {
			if strings.Contains(err.Error(), form) {
				t.Errorf("%q: the error holds the password (%s): %v", c.url, form, err)
			}
		}
	}
}
