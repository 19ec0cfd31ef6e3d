//go:build ignore

// generate writes the sample data set the music-stream job file reads
// (job.yaml): plays.csv (positional, like the demo's tracks_live.csv),
// customers.csv and music.csv (with a header of the hash fields, the form a
// job's lookup loads). The data is deterministic: go generate
// ./examples/musicstream writes the same bytes, and a test checks that the
// committed files are what it writes.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

func main() {
	dir := "data"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	d := gen.Generate(gen.SampleConfig)
	write := func(name string, fn func(*os.File) error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			log.Fatal(err)
		}
		if err := fn(f); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	write("plays.csv", func(f *os.File) error { return gen.WritePlays(f, d.Plays) })
	write("customers.csv", func(f *os.File) error { return gen.WriteCustomerHashes(f, d.Customers) })
	write("music.csv", func(f *os.File) error { return gen.WriteTrackHashes(f, d.Tracks) })
}
