package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/stretchr/testify/require"
)

// TestHTTPEndpoints runs the binary on a followed plays file with -http and
// checks /healthz, /metrics and the dashboard, then stops it with SIGTERM;
// on a single Redis and on a Redis Cluster.
func TestHTTPEndpoints(t *testing.T) {
	testredis.Run(t, testHTTPEndpoints)
}

func testHTTPEndpoints(t *testing.T, b testredis.Backend) {
	url, rdb, prefix := testRedisOn(t, b)
	bin := buildBinary(t)
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 11, Plays: 20000, Customers: 500, MeanGap: 10 * time.Second})
	var buf bytes.Buffer
	require.NoError(t, gen.WritePlays(&buf, d.Plays))
	plays := filepath.Join(dir, "plays.csv")
	require.NoError(t, os.WriteFile(plays, buf.Bytes(), 0o644))
	cust := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
	addr := fmt.Sprintf("127.0.0.1:%d", testredis.FreePort(t))

	cmd := exec.Command(bin, "-tracks", plays, "-customers", cust, "-redis", url, "-prefix", prefix, "-http", addr, "-progress", "off")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Wait until every play was read (the file is followed, not ended).
	deadline := time.Now().Add(time.Minute)
	for {
		code, body := get("/metrics")
		if code == 200 && strings.Contains(body, fmt.Sprintf(`rulestream_events_in_total{pipeline="musicstream"} %d`, len(d.Plays))) {
			require.Contains(t, body, `rulestream_rule_firings_total{pipeline="musicstream",rule="upgrade_ad"}`)
			require.Contains(t, body, "rulestream_watermark_lag_seconds")
			require.Contains(t, body, `rulestream_scenario_total{name="matches_early",pipeline="musicstream"}`)
			break
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("metrics never showed every play: %d %s\n%s", code, body, out.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a process outside the test
	}
	code, body := get("/healthz")
	require.Equal(t, 200, code, body)
	require.Contains(t, body, `"status":"ok"`)
	code, body = get("/")
	require.Equal(t, 200, code)
	require.Contains(t, body, "<html")
	var st struct {
		Sources struct {
			Wired   bool `json:"wired"`
			Sources []struct {
				Source string `json:"source"`
				Events int64  `json:"events"`
			} `json:"sources"`
		} `json:"sources"`
	}
	for { // the source monitor samples every second
		code, body = get("/api/dashboard")
		require.Equal(t, 200, code)
		require.True(t, strings.HasPrefix(strings.TrimSpace(body), "{"), body)
		require.NoError(t, json.Unmarshal([]byte(body), &st))
		if len(st.Sources.Sources) > 0 && st.Sources.Sources[0].Events == int64(len(d.Plays)) || !time.Now().Before(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling a process outside the test
	}
	require.True(t, st.Sources.Wired, body)
	require.Len(t, st.Sources.Sources, 1, body)
	require.Equal(t, plays, st.Sources.Sources[0].Source)
	// The customer page reads the plays the binary recorded.
	cid := d.Plays[len(d.Plays)-1].CustomerID
	code, body = get(fmt.Sprintf("/api/customer/%d", cid))
	require.Equal(t, 200, code, body)
	var cs struct {
		Plays struct {
			Total int64 `json:"total"`
		} `json:"plays"`
		Recorder *struct{} `json:"recorder"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &cs))
	require.NotNil(t, cs.Recorder, body)
	require.Positive(t, cs.Plays.Total, body)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "SIGTERM: drain, flush, exit 0\n%s", out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after SIGTERM\n%s", out.String())
	}
	require.Contains(t, out.String(), fmt.Sprintf("events: %d in", len(d.Plays)))
	require.NotContains(t, out.String(), "CROSSSLOT", "every write touches one slot")
	n, err := rdb.XLen(context.Background(), prefix+"queue:ads").Result()
	require.NoError(t, err)
	require.Positive(t, n)
}
