package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
)

func TestParseFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-features", "f", "-tracks", "t"}, "-features replaces -tracks and -clicks"},
		{[]string{"-threshold", "0"}, "-threshold 0 is not in (0, 1]"},
		{[]string{"-customers", "1"}, "-customers 1: want at least 2"},
		{[]string{"x"}, "unexpected arguments: [x]"},
		{[]string{"-write-clicks", "c", "-clicks", "d"}, "-write-clicks writes generated clicks"},
	} {
		if _, err := parseFlags(c.args, io.Discard); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
	o, err := parseFlags(nil, io.Discard)
	if err != nil || o.threshold != 0.10 || o.customers != 5000 || o.seed != 1 {
		t.Fatalf("defaults %+v %v", o, err)
	}
}

// The default run: generated plays and clicks, embedded Redis.
func TestRunGeneratedEmbedded(t *testing.T) {
	var out bytes.Buffer
	written := filepath.Join(t.TempDir(), "clicks.csv")
	o, _ := parseFlags([]string{"-customers", "800", "-write-clicks", written}, io.Discard)
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	for _, want := range []string{"plays of 800 customers (seed 1)", "held out 240: error ", "published model:ads version 1: 800 pred_event keys"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	f, err := os.Open(written)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if clicked, err := model.ReadClicks(f, written); err != nil || len(clicked) < 100 {
		t.Errorf("written clicks: %d clickers, %v", len(clicked), err)
	}
}

// Refusal: a threshold below the achievable error.
func TestRunRefused(t *testing.T) {
	var out bytes.Buffer
	o, _ := parseFlags([]string{"-customers", "400", "-threshold", "0.001"}, io.Discard)
	err := run(context.Background(), o, &out)
	if !errors.Is(err, model.ErrRefused) || !strings.Contains(err.Error(), "is not under the threshold 0.10%") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(out.String(), "published") {
		t.Errorf("output claims a publish:\n%s", &out)
	}
}

// Files in, a real redis-server out: plays and clicks written by the
// generator, read back by the binary's flags.
func TestRunFilesRealRedis(t *testing.T) {
	rdb, prefix := testredis.Client(t, 7)
	addr := rdb.Options().Addr
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 6, Customers: 500, Tracks: 60, Plays: 20000, MeanGap: 2 * time.Minute})
	clicks, _ := gen.Clicks(d, gen.ClickConfig{})
	write := func(name string, fn func(io.Writer) error) string {
		var buf bytes.Buffer
		if err := fn(&buf); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tracks := write("tracks.csv", func(w io.Writer) error { return gen.WritePlays(w, d.Plays) })
	clicksPath := write("clicks.csv", func(w io.Writer) error { return gen.WriteClicks(w, clicks) })
	ctx := context.Background()
	rdb.HSet(ctx, prefix+"customer:3", "id", 3)
	var out bytes.Buffer
	o, _ := parseFlags([]string{"-tracks", tracks, "-clicks", clicksPath, "-redis", "redis://" + addr + "/7", "-prefix", prefix}, io.Discard)
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	if !strings.Contains(out.String(), "read 20000 plays") || !strings.Contains(out.String(), "500 pred_event keys, pred_event set on 1 customer hashes (499 absent)") {
		t.Errorf("output:\n%s", &out)
	}
	m, err := model.Load(ctx, rdb, prefix)
	if err != nil || m.Version != 1 || m.TestRows != 150 {
		t.Fatalf("model %+v %v", m, err)
	}
	if v := rdb.HGet(ctx, prefix+"customer:3", "pred_event").Val(); v != rdb.Get(ctx, prefix+"pred_event:3").Val() || v == "" {
		t.Errorf("customer:3 pred_event %q", v)
	}
}
