package job

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite docs/job.schema.json and the reference in docs/jobs.md")

const (
	refBegin = "<!-- reference: begin -->\n"
	refEnd   = "<!-- reference: end -->"
)

// docs/jobs.md carries the reference made from the specs.
func TestReferenceIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "jobs.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, refBegin), strings.Index(s, refEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: no reference markers", path)
	}
	want := s[:i+len(refBegin)] + Markdown() + s[j:]
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != s {
		t.Fatalf("%s: the reference differs from the specs: go test ./job -run Reference -update", path)
	}
}

// docs/job.schema.json is the schema the specs make.
func TestJSONSchemaIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "job.schema.json")
	if *update {
		if err := os.WriteFile(path, JSONSchema(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, JSONSchema()) {
		t.Fatalf("%s differs from JSONSchema(): go test ./job -run JSONSchema -update", path)
	}
}

// exampleJobFiles are the job files of the repository.
func exampleJobFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "examples", "*", "job.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped job files: %v", err)
	}
	return files
}

// docJobs are the YAML blocks of the docs that are whole job files (their
// first line is "# job").
func docJobs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	block := regexp.MustCompile("(?s)```yaml\n(# job\n.*?)```")
	for _, path := range []string{filepath.Join("..", "README.md"), filepath.Join("..", "docs", "jobs.md")} {
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for k, m := range block.FindAllSubmatch(doc, -1) {
			out[path+"#"+string(rune('0'+k))] = m[1]
		}
	}
	if len(out) == 0 {
		t.Fatal("no job in the docs")
	}
	return out
}

// Every job of the docs and of the examples loads, and the schema accepts
// it; the schema refuses what the loader refuses for its shape.
func TestJobsLoadAndMatchTheSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	var doc any
	if err := json.Unmarshal(JSONSchema(), &doc); err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("job.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("job.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	asJSON := func(src []byte) any {
		var v any
		if err := yaml.Unmarshal(src, &v); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		_ = json.Unmarshal(b, &out)
		return out
	}
	jobs := docJobs(t)
	for _, f := range exampleJobFiles(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		jobs[f] = src
	}
	for name, src := range jobs {
		if _, err := Parse(name, src, Options{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := sch.Validate(asJSON(src)); err != nil {
			t.Errorf("%s: the schema refuses it: %v", name, err)
		}
	}
	for name, src := range map[string]string{
		"unknown key":        "nope: 1\n",
		"unknown window key": strings.Replace(string(jobs[exampleJobFiles(t)[0]]), "  - name: ", "  - bogus: 1\n    name: ", 1),
	} {
		if err := sch.Validate(asJSON([]byte(src))); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
		if _, err := Parse(name, []byte(src), Options{}); err == nil {
			t.Errorf("%s: the loader accepts it", name)
		}
	}
}
