package job

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// shippedJobs are the job files of the repository, seeds of FuzzParse.
var shippedJobs = []string{"../examples/musicstream/job.yaml"}

// FuzzParse: whatever the bytes, Parse does not panic, and either returns a
// job that plans and prints, or Errors whose every entry names the file,
// sorted by position.
func FuzzParse(f *testing.F) {
	for _, p := range shippedJobs {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
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
	for _, p := range shippedJobs {
		j, err := Load(p, Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := filepath.Clean("../examples/musicstream/data/plays.csv"); j.Input.Path != want {
			t.Errorf("%s: input path %q, want %q (relative to the job file)", p, j.Input.Path, want)
		}
	}
}
