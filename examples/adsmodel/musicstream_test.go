package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

// TestMusicstreamPicksUpScheduledModels runs the musicstream binary
// (following a plays file) and adsmodel -every 1h on a manual clock against
// the same Redis: the job's model watcher loads version 1 after the first
// attempt and switches to version 2 after the second, each with the error
// the attempt measured, without a restart.
func TestMusicstreamPicksUpScheduledModels(t *testing.T) {
	rdb, prefix := testredis.Client(t, 7)
	url := "redis://" + rdb.Options().Addr + "/7"
	dir := t.TempDir()
	bin := filepath.Join(dir, "musicstream")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/rulestream/rulestream/examples/musicstream").CombinedOutput(); err != nil {
		t.Fatalf("build musicstream: %v\n%s", err, out)
	}
	d := gen.Generate(gen.Config{Seed: 2, Customers: 50, Tracks: 20, Plays: 500, MeanGap: time.Minute})
	var plays bytes.Buffer
	if err := gen.WritePlays(&plays, d.Plays); err != nil {
		t.Fatal(err)
	}
	playsPath := filepath.Join(dir, "plays.csv")
	if err := os.WriteFile(playsPath, plays.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Follows plays.csv (no -once) until killed at the end of the test.
	cmd := exec.CommandContext(ctx, bin, "-tracks", playsPath, "-redis", url, "-prefix", prefix, "-progress", "off")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	waitFor := func(what string, match func(string) bool) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("musicstream ended before %s:\n%s", what, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if match(l) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %s:\n%s", what, strings.Join(seen, "\n"))
			}
		}
	}
	loaded := func(a model.Attempt) func(string) bool {
		return func(l string) bool {
			return strings.Contains(l, `msg="loaded model"`) && strings.Contains(l, " version="+strconv.FormatInt(a.Version, 10)+" ") &&
				strings.HasSuffix(l, " test_error="+strconv.FormatFloat(*a.Error, 'g', -1, 64))
		}
	}
	// Whether the job starts before or after the first publish, its
	// watcher loads it: by its first check, the announcement or a poll.
	clock := stream.NewManualClock(t0)
	attempts := make(chan model.Attempt, 4)
	o, err := parseFlags([]string{"-every", "1h", "-customers", "400", "-threshold", "0.5", "-redis", url, "-prefix", prefix}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.clock, o.onAttempt = clock, func(a model.Attempt) { attempts <- a }
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, o, io.Discard) }()
	published := func() model.Attempt {
		t.Helper()
		select {
		case a := <-attempts:
			if !a.Published {
				t.Fatalf("attempt not published: %+v", a)
			}
			return a
		case <-ctx.Done():
			t.Fatal("no attempt")
		}
		return model.Attempt{}
	}
	first := published()
	waitFor("model version 1 loaded", loaded(first))
	clock.Advance(time.Hour)
	second := published()
	if second.Version != 2 || *second.Error == *first.Error {
		t.Fatalf("second attempt %+v, first %+v: want version 2 trained on other data", second, first)
	}
	waitFor("model version 2 loaded", loaded(second))
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
