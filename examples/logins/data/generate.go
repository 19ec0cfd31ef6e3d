//go:build ignore

// generate writes the login example's sample data (logins.jsonl and
// accounts.csv) into the directory given, deterministically:
//
//	go run ./examples/logins/data/generate.go examples/logins/data
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/rulestream/rulestream/examples/logins/logingen"
)

func main() {
	dir := os.Args[1]
	d := logingen.Generate(logingen.Sample)
	for name, write := range map[string]func(*os.File) error{
		"logins.jsonl": func(f *os.File) error { return logingen.WriteLogins(f, d.Logins) },
		"accounts.csv": func(f *os.File) error { return logingen.WriteAccounts(f, d.Accounts) },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			log.Fatal(err)
		}
		if err := write(f); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}
