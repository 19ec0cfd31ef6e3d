//go:build ignore

// generate writes the web-shop example's sample data (events.jsonl) into
// the directory given, deterministically:
//
//	go run ./examples/webshop/data/generate.go examples/webshop/data
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/rulestream/rulestream/examples/webshop/shopgen"
)

func main() {
	d := shopgen.Generate(shopgen.Sample)
	f, err := os.Create(filepath.Join(os.Args[1], "events.jsonl"))
	if err != nil {
		log.Fatal(err)
	}
	if err := shopgen.WriteEvents(f, d.Events); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
