package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLibraryAdJob runs the library's ad job on 20k plays and requires
// queue:ads to hold exactly the event ids computed from the data, once each.
func TestLibraryAdJob(t *testing.T) {
	rdb := testRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, err := generate(20000, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plays.csv")
	if err := os.WriteFile(path, in.plays, 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := uniquePrefix(t)
	t.Cleanup(func() { _ = clean(context.Background(), rdb, prefix) })
	if err := prepare(ctx, rdb, in, prefix); err != nil {
		t.Fatal(err)
	}
	res, err := runLibraryAdJob(ctx, rdb, prefix, path, 0, 5*time.Minute, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.events != int64(in.lines()) {
		t.Errorf("read %d events, want %d", res.events, in.lines())
	}
	want := expectedAds(in)
	if len(want) == 0 {
		t.Fatal("no eligible plays in the data")
	}
	var out strings.Builder
	if !checkAds(ctx, rdb, prefix, "library", want, &out) {
		t.Fatal(out.String())
	}
	// A wrong expectation must be reported.
	if checkAds(ctx, rdb, prefix, "library", want[1:], &out) {
		t.Fatal("checkAds accepted an extra id")
	}
}
