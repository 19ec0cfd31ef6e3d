package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/smsworker/worker"
	"github.com/rulestream/rulestream/targets"
)

func TestWebhookSender(t *testing.T) {
	var got map[string]any
	var key string
	status := http.StatusInternalServerError
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key = r.Header.Get("Idempotency-Key")
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	s := &worker.WebhookSender{URL: srv.URL}
	m := worker.SMS{EntryID: "1-0", CustomerID: "42", Name: "Ann", OfferID: "o1", Fields: map[string]string{"rule": "r"}}
	ctx := context.Background()

	err := s.Send(ctx, m)
	if err == nil || targets.IsPermanent(err) {
		t.Fatalf("500: err = %v, want a retryable error", err)
	}
	status = http.StatusOK
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if key != "1-0" || got["customer_id"] != "42" || got["name"] != "Ann" || got["offer_id"] != "o1" {
		t.Errorf("request: key %q body %v", key, got)
	}
	status = http.StatusBadRequest
	if err := s.Send(ctx, m); !targets.IsPermanent(err) {
		t.Errorf("400: err = %v, want permanent", err)
	}
}

func TestWebhookSenderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s := &worker.WebhookSender{URL: srv.URL, Timeout: 50 * time.Millisecond}
	err := s.Send(context.Background(), worker.SMS{EntryID: "1-0"})
	if err == nil || targets.IsPermanent(err) || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
}
