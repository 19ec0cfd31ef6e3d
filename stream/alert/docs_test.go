package alert_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

// docs/alerts.md holds what the code does: its Prometheus rules parse and
// name only metrics a scrape has (with their namespace), its field table
// lists queue:alerts' fields in order, its JSON example decodes.
func TestAlertsDoc(t *testing.T) {
	raw, err := os.ReadFile("../../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)

	box, _ := alert.NewOutbox(alert.OutboxConfig{}, funcSink{name: "redis"})
	reg := prometheus.NewRegistry()
	_, err = metrics.New(reg, stream.New("p", stream.Config{}), metrics.Config{
		Sources: func() []metrics.SourceStatus { return []metrics.SourceStatus{{Source: "s", State: metrics.SourceOK}} },
		Alerts:  func() map[string]int64 { return map[string]int64{"silence": 0} }, AlertQueues: box.Stats})
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	named := regexp.MustCompile(`rulestream_[a-z_]+`).FindAllString(doc, -1)
	if len(named) < 20 {
		t.Fatalf("only %d metric names in the doc", len(named))
	}
	for _, n := range named {
		if !have[n] {
			t.Errorf("the doc names %s, which no scrape has", n)
		}
	}

	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) != 1 {
		t.Fatalf("%d yaml blocks", len(blocks))
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert, Expr, For string
				Labels           map[string]string
				Annotations      map[string]string
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(blocks[0][1]))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("the rules: %v", err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || !strings.Contains(r.Expr, "rulestream_") || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v", r)
			}
		}
	}
	if n != 7 {
		t.Errorf("%d rules", n)
	}

	_, table, _ := strings.Cut(doc, "## `queue:alerts`")
	var fields []string
	for _, l := range strings.Split(table, "\n") {
		if m := regexp.MustCompile("^\\| `([a-z_]+)` \\|").FindStringSubmatch(l); m != nil {
			fields = append(fields, m[1])
		} else if len(fields) > 0 {
			break
		}
	}
	var want []string
	for i, f := range alert.Fields(alertN(1)) {
		if i%2 == 0 {
			want = append(want, f)
		}
	}
	if !slices.Equal(fields, want) {
		t.Errorf("the doc's fields %q, want %q", fields, want)
	}

	_, after, _ := strings.Cut(doc, "## The webhook")
	example := regexp.MustCompile("(?s)```json\n(.*?)\n```").FindStringSubmatch(after)
	var a metrics.Alert
	if example == nil || json.Unmarshal([]byte(example[1]), &a) != nil || a.Kind != metrics.AlertSilence || a.Since.IsZero() {
		t.Errorf("the webhook example %q decodes to %+v", example, a)
	}
}
