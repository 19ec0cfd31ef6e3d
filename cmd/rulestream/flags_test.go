package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/sourcewatch"
	"github.com/rulestream/rulestream/job"
)

func TestParseFlagsErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no job", []string{"-once"}, "-job is required: the job file to run"},
		{"parallelism zero", []string{"-job", "j.yaml", "-parallelism", "0"}, "-parallelism must be at least 1"},
		{"parallelism negative", []string{"-job", "j.yaml", "-parallelism", "-3"}, "-parallelism must be at least 1"},
		{"parallelism not a number", []string{"-job", "j.yaml", "-parallelism", "x"}, `invalid value "x" for flag -parallelism: parse error`},
		{"progress", []string{"-job", "j.yaml", "-progress", "always"}, `-progress must be auto, on or off, not "always"`},
		{"sort", []string{"-job", "j.yaml", "-sort", "yes"}, `-sort must be auto, on or off, not "yes"`},
		{"memory", []string{"-job", "j.yaml", "-memory", "1MiB"}, "-memory 1MiB: at least 16MiB"},
		{"memory unit", []string{"-job", "j.yaml", "-memory", "2XB"}, `-memory: "2XB": unknown unit "XB" (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`},
		{"silence negative", []string{"-job", "j.yaml", "-silence", "-1s"}, "-silence must not be negative, not -1s"},
		{"silence too short", []string{"-job", "j.yaml", "-silence", "10ms"}, "-silence must be at least 1s (or 0: off), not 10ms"},
		{"webhook scheme", []string{"-job", "j.yaml", "-alert-webhook", "ftp://u:secret@h/x"}, "-alert-webhook ftp://u:xxxxx@h/x: want an http:// or https:// URL with a host"},
		{"webhook no host", []string{"-job", "j.yaml", "-alert-webhook", "hooks.example/alerts"}, "-alert-webhook hooks.example/alerts: want an http:// or https:// URL with a host"},
		{"webhook without silence", []string{"-job", "j.yaml", "-silence", "0", "-alert-webhook", "https://hooks.example/a"}, "-alert-webhook needs the sources watched: -silence above 0"},
		{"extra args", []string{"-job", "j.yaml", "more", "args"}, "unexpected arguments: [more args]"},
		{"unknown flag", []string{"-job", "j.yaml", "-nope"}, "flag provided but not defined: -nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(c.args, &stderr)
			require.Nil(t, o)
			require.EqualError(t, err, c.msg)
		})
	}
}

// The flag package's own errors print the usage; -help is flag.ErrHelp,
// which main turns into exit 0.
func TestParseFlagsUsage(t *testing.T) {
	var stderr bytes.Buffer
	_, err := parseFlags([]string{"-help"}, &stderr)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, name := range []string{"-job", "-input", "-redis", "-once", "-backtest", "-http", "-prefix", "-parallelism",
		"-print", "-schema", "-explain", "-quiet", "-progress", "-silence", "-alert-webhook"} {
		require.Regexp(t, `(?m)^  `+name+`( |$)`, stderr.String(), "usage lacks %s", name)
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags([]string{"-job", "j.yaml"}, &stderr)
	require.NoError(t, err)
	require.Equal(t, &options{job: "j.yaml", parallelism: runtime.GOMAXPROCS(0), progress: "auto",
		checkpointEvery: time.Second, sessionTimeout: 10 * time.Second, shutdownTimeout: 5 * time.Second, sort: "auto", memory: "auto",
		watch: sourcewatch.Options{Silence: 5 * time.Minute}}, o)
	require.Empty(t, stderr.String())

	o, err = parseFlags([]string{"-schema"}, &stderr)
	require.NoError(t, err, "-schema needs no job")
	require.True(t, o.schema)
}

// -schema prints the JSON Schema of job files, with no job and no Redis:
// the committed docs/job.schema.json.
func TestSchemaFlag(t *testing.T) {
	o, err := parseFlags([]string{"-schema", "-redis", unreachableRedis(t)}, new(bytes.Buffer))
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), o, &stdout, &stderr))
	require.True(t, json.Valid(stdout.Bytes()), "not JSON:\n%s", stdout.String())
	var schema map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &schema))
	require.Contains(t, schema, "$schema")
	require.Equal(t, "object", schema["type"])
	require.Equal(t, string(job.JSONSchema()), stdout.String())
	committed, err := os.ReadFile(filepath.Join("..", "..", "docs", "job.schema.json"))
	require.NoError(t, err)
	require.JSONEq(t, string(committed), stdout.String(), "docs/job.schema.json differs from rulestream -schema")
	require.Empty(t, stderr.String())
}

// -print shows the job with every default resolved and its plan, and
// exits without connecting to Redis (the one given is unreachable).
func TestPrintFlag(t *testing.T) {
	o := newOptions(filepath.Join(loginsDir, "job.yaml"), unreachableRedis(t), "p:")
	o.print = true
	stdout, stderr, err := runJob(t, o)
	require.NoError(t, err, stderr)
	for _, want := range []string{
		"name: logins",
		"version: logins-1",
		"lateness: 2m0s",
		"plan:",
		"  chain: dedup → account → [failures | hourly_failures | events] → rules",
		"  unused: []",
	} {
		requireLine(t, stdout, want)
	}
	// Defaults the file leaves out are stated.
	for _, want := range []string{"unknown: pass", "entries: 1048576", "ttl: 5m", "offset: 0s", "enabled: true", "strict: false"} {
		require.Contains(t, stdout, want)
	}
	require.NotContains(t, stdout, "embedded Redis")
	require.NotContains(t, stderr, "redis")
}

// unreachableRedis returns a -redis address nothing listens on.
func unreachableRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "redis://" + addr + "/0"
}

// Every flag is in docs/jobs.md's flag table, and the table names no other.
func TestFlagTableDocumented(t *testing.T) {
	var usage bytes.Buffer
	_, err := parseFlags([]string{"-help"}, &usage)
	require.ErrorIs(t, err, flag.ErrHelp)
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  (-[a-z-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		flags = append(flags, m[1])
	}
	require.NotEmpty(t, flags)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "jobs.md"))
	require.NoError(t, err)
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(-[a-z-]+)[ `]").FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(flags)
	slices.Sort(documented)
	require.Equal(t, flags, documented, "docs/jobs.md's flag table")
}
