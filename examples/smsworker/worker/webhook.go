package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/targets"
)

// WebhookSender posts each SMS as JSON to an HTTP endpoint (an SMS gateway).
// A 2xx reply is success; 5xx, 408, 429 and network errors are retried;
// other statuses are permanent failures.
type WebhookSender struct {
	// URL receives POST requests.
	URL string
	// Timeout bounds one request (default 5s).
	Timeout time.Duration
	// Client is the HTTP client (default http.DefaultClient).
	Client *http.Client
}

type webhookBody struct {
	EntryID    string            `json:"entry_id"`
	CustomerID string            `json:"customer_id"`
	Name       string            `json:"name"`
	OfferID    string            `json:"offer_id"`
	Fields     map[string]string `json:"fields"`
}

// Send posts m; the Idempotency-Key header is the entry ID.
func (s *WebhookSender) Send(ctx context.Context, m SMS) error {
	if s.URL == "" {
		return targets.Permanent(errors.New("webhook sender: no URL"))
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	body, err := json.Marshal(webhookBody{EntryID: m.EntryID, CustomerID: m.CustomerID, Name: m.Name, OfferID: m.OfferID, Fields: m.Fields})
	if err != nil {
		return targets.Permanent(fmt.Errorf("webhook sender: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		// net/url's error repeats the URL, password included: keep its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return targets.Permanent(fmt.Errorf("webhook sender: URL %q: %w", enrich.Redact(s.URL), err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.EntryID)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook sender: %w", err) // net/http leaves the password out of its URL
	}
	safe := req.URL.Redacted()
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("webhook sender: %s replied %s", safe, resp.Status)
	}
	return targets.Permanent(fmt.Errorf("webhook sender: %s replied %s", safe, resp.Status))
}
