package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

type funcSink struct {
	name string
	send func(context.Context, metrics.Alert) error
}

func (s funcSink) Name() string                                    { return s.name }
func (s funcSink) Send(ctx context.Context, a metrics.Alert) error { return s.send(ctx, a) }

// The per-source and alert metrics in a /metrics scrape: one source
// silent, one never started, the others ok; the alerts by kind; an outbox
// whose Redis sink is down (2 pending, 1 dropped) and whose webhook sent.
func TestSourceMetricsScrape(t *testing.T) {
	s := newSim(t, day0, metrics.SourceConfig{Span: time.Minute})
	for _, h := range hosts[:3] {
		s.set(h, steady(5))
	}
	s.set(hosts[3], nil)
	s.until(day0.Add(20 * time.Minute))
	s.set(hosts[2], nil)
	s.until(s.now.Add(3 * time.Minute))

	box, err := alert.NewOutbox(alert.OutboxConfig{Max: 1},
		funcSink{"redis", func(context.Context, metrics.Alert) error { return errors.New("down") }},
		funcSink{"webhook", func(context.Context, metrics.Alert) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range s.collected() { // never_started, silence: the first dropped
		box.Add(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = box.Run(ctx) // the last flush: the webhook gets what waits

	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, stream.New("musicstream", stream.Config{}), metrics.Config{
		Sources: s.mon.Status, Alerts: s.mon.Alerts, AlertQueues: box.Stats}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	for _, want := range []string{
		`rulestream_source_silent{pipeline="musicstream",source="/data/host3.csv"} 1`,
		`rulestream_source_silent{pipeline="musicstream",source="/data/host1.csv"} 0`,
		`rulestream_source_silent{pipeline="musicstream",source="/data/host4.csv"} 0`,
		`rulestream_source_never_started{pipeline="musicstream",source="/data/host4.csv"} 1`,
		`rulestream_source_never_started{pipeline="musicstream",source="/data/host1.csv"} 0`,
		`rulestream_source_rate{pipeline="musicstream",source="/data/host1.csv"} 5`,
		`rulestream_source_rate{pipeline="musicstream",source="/data/host3.csv"} 0`,
		`rulestream_source_expected_rate{pipeline="musicstream",source="/data/host1.csv"} 5`,
		`rulestream_source_events_total{pipeline="musicstream",source="/data/host1.csv"} 6900`,
		`rulestream_alerts_total{kind="silence",pipeline="musicstream"} 1`,
		`rulestream_alerts_total{kind="never_started",pipeline="musicstream"} 1`,
		`rulestream_alerts_total{kind="recovered",pipeline="musicstream"} 0`,
		`rulestream_alert_queue_pending{pipeline="musicstream",sink="redis"} 1`,
		`rulestream_alert_queue_dropped_total{pipeline="musicstream",sink="redis"} 1`,
		`rulestream_alert_queue_sent_total{pipeline="musicstream",sink="redis"} 0`,
		`rulestream_alert_queue_sent_total{pipeline="musicstream",sink="webhook"} 1`,
		`rulestream_alert_queue_dropped_total{pipeline="musicstream",sink="webhook"} 1`,
		`rulestream_alert_queue_failed_total{pipeline="musicstream",sink="webhook"} 0`,
		`rulestream_alert_queue_pending{pipeline="musicstream",sink="webhook"} 0`,
		"# TYPE rulestream_source_silent gauge",
		"# TYPE rulestream_alerts_total counter",
		"# TYPE rulestream_alert_queue_dropped_total counter",
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("no %s in the scrape", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", grepLines(page, "source_", "alert"))
	}
}

func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
