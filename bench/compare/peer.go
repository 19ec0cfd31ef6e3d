package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/internal/cputime"
)

// peerResult is the JSON line a peer prints.
type peerResult struct {
	Events  int           `json:"events"`
	Written int           `json:"written"`
	Seconds float64       `json:"seconds"`
	cpu     time.Duration // the peer process's CPU time (user + system)
}

// peersDir is bench/peers beside this source file, unless -peers says.
func peersDir(o *options) string {
	if o.peersDir != "" {
		return o.peersDir
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "peers")
}

// buildPeer builds the peer's module into dir and returns the binary.
func buildPeer(ctx context.Context, o *options, dir string) (string, error) {
	bin := filepath.Join(dir, o.peer)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(peersDir(o), o.peer)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build peer %s in %s: %w\n%s", o.peer, cmd.Dir, err, out)
	}
	return bin, nil
}

// runPeer runs the peer binary on the plays file and parses its result.
func runPeer(ctx context.Context, bin string, args ...string) (peerResult, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return peerResult{}, fmt.Errorf("peer %s: %w\n%s", filepath.Base(bin), err, stderr.Bytes())
	}
	var r peerResult
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil {
		return peerResult{}, fmt.Errorf("peer %s: result %q: %w", filepath.Base(bin), stdout.Bytes(), err)
	}
	return r, nil
}

// peerRun is one configuration of the peer to run.
type peerRun struct {
	name string
	args []string
}

func runPeerComparison(ctx context.Context, o *options, rdb *redis.Client, in *input, out io.Writer) error {
	dir, err := os.MkdirTemp("", "rulestream-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "plays.csv")
	if err := os.WriteFile(path, in.plays, 0o644); err != nil {
		return err
	}
	start := time.Now()
	var bin string
	if o.peer == "runner" {
		bin, err = buildRunner(ctx, dir)
	} else {
		bin, err = buildPeer(ctx, o, dir)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "peer %s built in %.1fs\n", o.peer, time.Since(start).Seconds())
	want := expectedAds(in)

	extra := strings.Fields(o.peerArgs)
	runs := []peerRun{{name: o.peer, args: extra}}
	if o.peer == "benthos" {
		runs = []peerRun{{name: "benthos (tuned)", args: append([]string{"-tuned"}, extra...)}}
		if o.untuned {
			runs = append([]peerRun{{name: "benthos (untuned)"}}, runs...)
		}
	}
	libPrefix := o.prefix + "lib:"
	prefixes := []string{libPrefix}
	var peerRate float64
	ok := true
	for i, r := range runs {
		prefix := fmt.Sprintf("%speer%d:", o.prefix, i)
		prefixes = append(prefixes, prefix)
		if err := prepare(ctx, rdb, in, prefix); err != nil {
			return err
		}
		cpu := startCPU(ctx, rdb)
		var res peerResult
		if o.peer == "runner" {
			res, err = runRunner(ctx, o, bin, dir, path, prefix, r.args, out)
		} else {
			res, err = runPeer(ctx, bin, append([]string{"-input", path, "-redis", o.redis, "-prefix", prefix}, r.args...)...)
		}
		if err != nil {
			return err
		}
		peerRate = float64(res.Events) / res.Seconds
		fmt.Fprintf(out, "%s: %d events in %.2fs = %.0f events/s (%d written; redis-server CPU %.2fs; process CPU %.2fs)\n",
			r.name, res.Events, res.Seconds, peerRate, res.Written, cpu.seconds(ctx), res.cpu.Seconds())
		ok = checkAds(ctx, rdb, prefix, r.name, want, out) && ok
	}
	if !o.keep {
		defer func() {
			for _, p := range prefixes {
				_ = clean(context.WithoutCancel(ctx), rdb, p)
			}
		}()
	}
	if err := prepare(ctx, rdb, in, libPrefix); err != nil {
		return err
	}
	var lib libResult
	cpu := startCPU(ctx, rdb)
	libCPU := cputime.Process()
	err = profile(o.cpuprofile, func() error {
		var err error
		lib, err = runLibraryAdJob(ctx, rdb, libPrefix, path, o.batch, o.lateness, false, o.checkpoint)
		return err
	})
	if err != nil {
		return fmt.Errorf("library: %w", err)
	}
	if o.memprofile != "" {
		if err := writeHeap(o.memprofile); err != nil {
			return err
		}
	}
	libRate := rate(int(lib.events), lib.elapsed)
	libCPU = cputime.Process() - libCPU
	fmt.Fprintf(out, "library: %d events in %.2fs = %.0f events/s (%s; redis-server CPU %.2fs; process CPU %.2fs)\n",
		lib.events, lib.elapsed.Seconds(), libRate, lib.summary, cpu.seconds(ctx), libCPU.Seconds())
	ok = checkAds(ctx, rdb, libPrefix, "library", want, out) && ok
	if o.diagnose {
		d, err := runLibraryAdJob(ctx, rdb, libPrefix, path, o.batch, o.lateness, true, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "diagnosis: library with its emissions discarded (no Redis writes): %.0f events/s (%s)\n", rate(int(d.events), d.elapsed), d.summary)
	}
	if ok {
		fmt.Fprintf(out, "queue:ads: identical event ids in every run (%d, no duplicates; equal to the ids computed from the data)\n", len(want))
	}
	if o.peer == "runner" { // the runner against the library: how much running it as a user costs
		fmt.Fprintf(out, "runner ratio: %.2f (the runner's events/s over the library's)\n", peerRate/libRate)
	} else {
		fmt.Fprintf(out, "%s ratio: %.1f\n", o.peer, libRate/peerRate)
	}
	if !ok {
		return errDiffer
	}
	return nil
}

func prepare(ctx context.Context, rdb *redis.Client, in *input, prefix string) error {
	if err := clean(ctx, rdb, prefix); err != nil {
		return err
	}
	return in.load(ctx, rdb, prefix)
}
