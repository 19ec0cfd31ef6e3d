package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/stream/metrics"
)

// webhook POSTs each alert as JSON.
type webhook struct {
	raw    string
	url    *url.URL
	err    error // the URL's, if malformed
	client *http.Client
}

// body is the webhook's JSON: metrics.Alert's fields, with the times
// formatted as in queue:alerts (TimeFormat); it decodes into a
// metrics.Alert.
type body struct {
	Source   string  `json:"source"`
	Kind     string  `json:"kind"`
	Observed float64 `json:"observed"`
	Expected float64 `json:"expected"`
	Since    string  `json:"since"`
	At       string  `json:"at"`
}

// NewWebhook returns a sink that POSTs each alert as JSON (Content-Type
// application/json) to rawURL, through client (nil: http.DefaultClient).
// Its name is "webhook". A 2xx reply is delivered; a 4xx other than 408
// and 429 is permanent (not retried), as is a URL that is not http(s);
// every other reply or error is retried. Each request carries an
// Idempotency-Key header, the same for every attempt of one alert. Errors
// name the URL without its password.
func NewWebhook(rawURL string, client *http.Client) Sink {
	if client == nil {
		client = http.DefaultClient
	}
	w := &webhook{raw: rawURL, client: client}
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		// net/url's error repeats the URL, password included: keep its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		w.err = fmt.Errorf("alert: webhook URL %q: %w", enrich.Redact(rawURL), err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		w.err = fmt.Errorf("alert: webhook URL %q: want http:// or https:// and a host", u.Redacted())
	default:
		w.url = u
	}
	return w
}

func (w *webhook) Name() string { return "webhook" }

func (w *webhook) Send(ctx context.Context, a metrics.Alert) error {
	if w.err != nil {
		return Permanent(w.err)
	}
	b := body{Source: a.Source, Kind: string(a.Kind), Observed: a.Observed, Expected: a.Expected,
		Since: formatTime(a.Since), At: formatTime(a.At)}
	payload, err := json.Marshal(b)
	if err != nil {
		return Permanent(fmt.Errorf("alert: webhook body: %w", err))
	}
	safe := w.url.Redacted()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.String(), bytes.NewReader(payload))
	if err != nil {
		return Permanent(fmt.Errorf("alert: webhook %s: %w", safe, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rulestream-alert")
	req.Header.Set("Idempotency-Key", idempotencyKey(b))
	resp, err := w.client.Do(req)
	if err != nil {
		// The client's *url.Error names the URL with "***" for a password:
		// name it as the other errors do, keeping the cause's chain.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("alert: webhook %s: %w", safe, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err = fmt.Errorf("alert: webhook %s replied %s%s", safe, resp.Status, excerpt(reply))
	if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		return Permanent(err)
	}
	return err
}

// idempotencyKey identifies an alert across attempts.
func idempotencyKey(b body) string {
	h := sha256.Sum256([]byte(strings.Join([]string{b.Source, b.Kind, b.Since, b.At}, "\x00")))
	return hex.EncodeToString(h[:16])
}

// excerpt returns the start of a reply's body for an error: its first
// line, at most 200 bytes, quoted.
func excerpt(reply []byte) string {
	s := strings.TrimSpace(string(reply))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	if s == "" {
		return ""
	}
	return fmt.Sprintf(": %q", s)
}
