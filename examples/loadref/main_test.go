package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

func TestRunLoadsGeneratedFiles(t *testing.T) {
	client, prefix := testredis.Client(t, 1)
	addr := client.Options().Addr
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 1, Customers: 300, Tracks: 40, Plays: -1})
	write := func(name string, fn func(f *os.File) error) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := fn(f); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cust := write("cust.csv", func(f *os.File) error { return gen.WriteCustomers(f, d.Customers) })
	music := write("music.csv", func(f *os.File) error { return gen.WriteMusic(f, d.Tracks) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, "redis://"+addr+"/1", cust, music, enrich.LoadConfig{Prefix: prefix}, nil); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 340 {
		t.Errorf("%d keys, want 340", len(keys))
	}
	if got := client.HGet(ctx, prefix+"track:3", "title").Val(); got != d.Tracks[3].Title {
		t.Errorf("track:3 title %q, want %q", got, d.Tracks[3].Title)
	}
	if err := run(ctx, "127.0.0.1:1", cust, "", enrich.LoadConfig{}, nil); err == nil {
		t.Error("unreachable Redis gave no error")
	}
}
