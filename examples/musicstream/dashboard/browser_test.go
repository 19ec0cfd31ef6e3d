package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// chromium returns the path of Debian's chromium, skipping the test when
// it is missing (failing under CI=true, where scripts/test installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (CI=true): apt-get install chromium")
	}
	t.Skip("chromium not installed: apt-get install chromium")
	return ""
}

// headless runs chromium on url with extra flags and returns its stdout and
// stderr.
func headless(t *testing.T, bin, url string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, extra...)
	args = append(args, url)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

var (
	attrRe   = regexp.MustCompile(`<body[^>]*>`)
	pointsRe = regexp.MustCompile(`<svg id="(chart-[a-z]+)"[^>]*data-points="(\d+)"`)
)

func bodyAttr(body, name string) string {
	m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestDashboardInBrowser runs the scenario with the analytics on generated
// data, with ten days of model training and five sources, serves the
// dashboard, loads it in headless Chromium, checks that every chart and
// panel has data and that no JavaScript error happened, and saves a
// screenshot (into the test's artifact directory; also to
// $DASHBOARD_SCREENSHOT when set, e.g. docs/dashboard.png).
func TestDashboardInBrowser(t *testing.T) {
	bin := chromium(t)
	d := served(t, 20000, func(c *Config) { c.Sources = someSources })
	seedModel(t, d)
	srv := httptest.NewServer(d)
	defer srv.Close()

	start := time.Now()
	dom, logs := headless(t, bin, srv.URL+"/", "--virtual-time-budget=5000", "--dump-dom")
	t.Logf("page loaded and dumped in %v", time.Since(start))
	body := attrRe.FindString(dom)
	if body == "" {
		t.Fatalf("no body in the dumped DOM:\n%.2000s", dom)
	}
	if s := bodyAttr(body, "data-status"); s != "ok" {
		t.Errorf("data-status %q, want ok; status line: %s", s, between(dom, `id="status"`, "</div>"))
	}
	if n, _ := strconv.Atoi(bodyAttr(body, "data-updates")); n < 2 {
		t.Errorf("data-updates %q: the page did not refresh within the virtual time", bodyAttr(body, "data-updates"))
	}
	t.Logf("first render %s ms after navigation start (page clock); JSON %d bytes", bodyAttr(body, "data-first-render-ms"), len(mustJSON(t, d)))
	if e := bodyAttr(body, "data-js-errors"); e != "0" {
		t.Errorf("%s JavaScript errors: %s", e, between(dom, `id="js-errors"`, "</ul>"))
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "CONSOLE") && (strings.Contains(line, "Uncaught") || strings.Contains(line, "Error")) {
			t.Errorf("console: %s", line)
		}
	}
	charts := map[string]int{}
	for _, m := range pointsRe.FindAllStringSubmatch(dom, -1) {
		n, _ := strconv.Atoi(m[2])
		charts[m[1]] = n
	}
	for _, c := range []string{"chart-hours", "chart-zips", "chart-tracks", "chart-levels", "chart-genders", "chart-model", "chart-firings", "chart-rate", "chart-lag"} {
		if charts[c] == 0 {
			t.Errorf("%s has no data points (%v)", c, charts)
		}
	}
	if charts["chart-zips"] != 20 || charts["chart-tracks"] != 20 {
		t.Errorf("rankings: %d zips, %d tracks; want 20 each", charts["chart-zips"], charts["chart-tracks"])
	}
	// The default range, 24 h: the attempts of t0-20h to t0 (the clock is past t0).
	if charts["chart-hours"] != 24 || charts["chart-model"] != 6 {
		t.Errorf("24 h: %d hours, %d training attempts; want 24 and 6", charts["chart-hours"], charts["chart-model"])
	}
	if n := strings.Count(dom, `data-state="`); n != 5 || !strings.Contains(dom, `data-state="silent"`) || !strings.Contains(dom, "host-c.csv") {
		t.Errorf("sources panel: %d rows: %s", n, between(dom, `id="sources"`, "</table>"))
	}
	if !strings.Contains(dom, " — ") || strings.Contains(between(dom, `id="chart-tracks"`, "</svg>"), ">track ") {
		t.Errorf("top tracks without titles: %.1000s", between(dom, `id="chart-tracks"`, "</svg>"))
	}
	if t.Failed() {
		t.Logf("DOM:\n%.4000s", dom)
	}

	shot := filepath.Join(t.ArtifactDir(), "dashboard.png")
	start = time.Now()
	headless(t, bin, srv.URL+"/", "--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1400,2900", "--screenshot="+shot)
	t.Logf("screenshot in %v", time.Since(start))
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 10000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %d bytes, %v", shot, len(png), err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if out := os.Getenv("DASHBOARD_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustJSON(t *testing.T, d *Dashboard) []byte {
	b, err := json.Marshal(d.State(context.Background(), t0, RangeDay))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		s = s[:j]
	}
	return s
}

// TestEmptyDashboardInBrowser loads the page before any data: every chart
// shows its placeholder and no JavaScript error happens.
func TestEmptyDashboardInBrowser(t *testing.T) {
	bin := chromium(t)
	rdb, prefix := testRedis(t)
	d, err := New(Config{Redis: rdb, Prefix: prefix, Pipeline: stream.New("idle", stream.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	dom, _ := headless(t, bin, srv.URL+"/", "--virtual-time-budget=3000", "--dump-dom")
	body := attrRe.FindString(dom)
	if bodyAttr(body, "data-status") != "ok" || bodyAttr(body, "data-js-errors") != "0" {
		t.Fatalf("body %s; errors: %s", body, between(dom, `id="js-errors"`, "</ul>"))
	}
	if !strings.Contains(dom, "no complete hour yet") || !strings.Contains(dom, "no samples yet") ||
		!strings.Contains(dom, "no training attempt in this range") || !strings.Contains(dom, "No source monitor is wired") ||
		!strings.Contains(dom, `data-sources="unwired"`) {
		t.Errorf("placeholders missing:\n%.3000s", dom)
	}
}
