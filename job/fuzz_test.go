package job

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shippedJobs are the job files of the repository.
func shippedJobs(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "examples", "*", "job.yaml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no job files under examples: %v", err)
	}
	return files
}

// docYAML returns the YAML blocks of the docs (whole jobs and fragments).
func docYAML(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, p := range []string{filepath.Join("..", "docs", "jobs.md"), filepath.Join("..", "README.md")} {
		doc, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// FuzzParse: whatever the bytes, Parse does not panic, and either returns a
// job that plans and prints, or Errors whose every entry names the file,
// sorted by position.
func FuzzParse(f *testing.F) {
	for _, p := range shippedJobs(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, b := range docYAML(f) {
		f.Add(b)
	}
	for _, tc := range loadErrorCases {
		f.Add([]byte(tc.src))
	}
	f.Add([]byte(withBase("")))
	f.Add([]byte(withBase("windows:\n  - &w {name: w, type: count_within, key: user, count: 2, within: 1m}\nlookups: [*w]\n")))
	f.Fuzz(func(t *testing.T, src []byte) {
		const name = "fuzz/job.yaml"
		j, err := Parse(name, src, Options{})
		if err == nil {
			if j == nil || j.Rules == nil || j.Env == nil || j.Schema == nil {
				t.Fatalf("Parse returned no error and an incomplete job: %+v", j)
			}
			_ = j.Plan().String()
			_, _ = j.Lanes()
			var buf bytes.Buffer
			if err := j.Print(&buf); err != nil {
				t.Fatalf("Print: %v", err)
			}
			return
		}
		if j != nil {
			t.Fatalf("Parse returned a job with an error: %v", err)
		}
		var es Errors
		if !errors.As(err, &es) {
			t.Fatalf("error is a %T, not Errors: %v", err, err)
		}
		if len(es) == 0 {
			t.Fatal("empty Errors")
		}
		for i, e := range es {
			if e.File != name {
				t.Errorf("error %d has File %q: %v", i, e.File, e)
			}
			if e.Msg == "" {
				t.Errorf("error %d has no message: %v", i, e)
			}
			if i > 0 && (es[i-1].Line > e.Line || es[i-1].Line == e.Line && es[i-1].Col > e.Col) {
				t.Errorf("errors not sorted by position:\n%v", err)
			}
		}
	})
}

// TestShippedJobsLoad: every shipped job file loads.
func TestShippedJobsLoad(t *testing.T) {
	for _, p := range shippedJobs(t) {
		j, err := Load(p, Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if j.Input.Path != "" && j.Input.Path != "-" && !strings.HasPrefix(j.Input.Path, filepath.Dir(p)+string(filepath.Separator)) {
			t.Errorf("%s: input path %q is not relative to the job file", p, j.Input.Path)
		}
	}
}
