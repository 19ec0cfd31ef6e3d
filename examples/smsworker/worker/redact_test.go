package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rulestream/rulestream/examples/smsworker/worker"
)

// A webhook URL's password is in no error of the sender: not when the
// gateway refuses, not when it cannot be reached, not when the URL is
// malformed (net/url's error would repeat it, control character escaped).
func TestWebhookErrorsNeverHoldThePassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, c := range []struct{ url, want string }{
		{"http://gw:s3cret@" + host + "/sms", "webhook sender: http://gw:xxxxx@" + host + "/sms replied 400 Bad Request"},
		{"http://gw:s3cret@" + strings.TrimPrefix(closed.URL, "http://") + "/sms", "connection refused"},
		{"http://gw:s3\x01cret@" + host + "/sms", `webhook sender: URL "http://gw:xxxxx@` + host + `/sms": net/url: invalid control character in URL`},
	} {
		err := (&worker.WebhookSender{URL: c.url}).Send(context.Background(), worker.SMS{EntryID: "1-0", CustomerID: "7"})
		if err == nil {
			t.Errorf("%q: no error", c.url)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q, want it to hold %q", c.url, err, c.want)
		}
		for _, form := range []string{"s3cret", `s3\x01cret`, "s3\x01cret"} {
			if strings.Contains(err.Error(), form) {
				t.Errorf("%q: the error holds the password: %q", c.url, err)
			}
		}
	}
}
