package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// rulestreamBinary builds the command once per test binary.
func rulestreamBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rulestream-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "rulestream")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// runBinary runs the built command with args and stdin, and returns its
// stdout, stderr and exit code.
func runBinary(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rulestreamBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "the run did not end within its deadline")
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), errOut.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return out.String(), errOut.String(), 0
}

const bom = "\ufeff"

// A UTF-8 BOM at the start of each input file (as Windows editors save
// CSV) is not part of the first line, whatever the decoder (positional
// CSV, CSV with a header, JSON lines) and however the input is named: a
// file, a glob of files (each with its BOM), or stdin (-input -, through
// the built binary, which exits 0). Every play fires the rule every and
// nothing is dead-lettered (the first line was: its first field, or the
// header's first column name, started with the BOM).
func TestBOMIsNotPartOfTheFirstLine(t *testing.T) {
	f := timeFormats[0] // datetime
	base := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	for _, dec := range timeDecoders {
		// Three files of two plays each: ids 1..6.
		var files [3]string
		var all []string
		for i := range files {
			var b strings.Builder
			b.WriteString(bom + dec.header)
			for k := range 2 {
				id := 2*i + k + 1
				line := dec.line(id, "u"+strconv.Itoa(id), f.good(base.Add(time.Duration(id)*time.Minute)), false)
				b.WriteString(line + "\n")
				all = append(all, line)
			}
			files[i] = b.String()
		}
		for _, mode := range []string{"file", "glob", "stdin"} {
			t.Run(dec.name+"_"+mode, func(t *testing.T) {
				rdb, url, prefix := testRedis(t)
				dir := t.TempDir()
				ids := []int{1, 2}
				input := filepath.Join(dir, "plays-0")
				var stdin []byte
				switch mode {
				case "file":
					writeFile(t, input, files[0])
				case "glob":
					for i, content := range files {
						writeFile(t, filepath.Join(dir, fmt.Sprintf("plays-%d", i)), content)
					}
					input = filepath.Join(dir, "plays-*")
					ids = []int{1, 2, 3, 4, 5, 6}
				case "stdin":
					stdin = []byte(files[0])
					input = "-"
				}
				jobPath := timesJob(t, "  path: "+filepath.Join(dir, "unused")+"\n", dec, f.name, false)
				args := []string{"-job", jobPath, "-input", input, "-once", "-redis", url, "-prefix", prefix, "-progress", "off", "-quiet"}
				var stdout, stderr string
				if mode == "stdin" {
					var code int
					stdout, stderr, code = runBinary(t, stdin, args...)
					require.Equal(t, 0, code, "exit code\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
				} else {
					o := newOptions(jobPath, url, prefix)
					o.input, o.once, o.quiet = input, true, true
					var err error
					stdout, stderr, err = runJob(t, o)
					require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
				}
				requireLine(t, stdout, fmt.Sprintf("events: %d in, 0 duplicates dropped, 0 dead-lettered, 0 late", len(ids)))
				dl, err := rdb.XRange(context.Background(), prefix+"dl", "-", "+").Result()
				require.NoError(t, err)
				require.Empty(t, dl, "dead letters")
				require.Equal(t, ids, hitIDs(t, rdb, prefix), "every play fired")
			})
		}
	}
}

// hitIDs returns the ids of the stream hits, sorted.
func hitIDs(t *testing.T, rdb *redis.Client, prefix string) []int {
	t.Helper()
	hits, err := rdb.XRange(context.Background(), prefix+"hits", "-", "+").Result()
	require.NoError(t, err)
	var ids []int
	for _, h := range hits {
		id, err := strconv.Atoi(h.Values["id"].(string))
		require.NoError(t, err)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
