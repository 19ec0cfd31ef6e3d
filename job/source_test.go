package job

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

func decodeLine(t *testing.T, j *Job, line string) (stream.Event, error) {
	t.Helper()
	dec, err := j.Decoder()
	if err != nil {
		t.Fatal(err)
	}
	if dec.Schema() != j.Schema {
		t.Errorf("the decoder's schema is not the job's")
	}
	ev := stream.Event{Fields: make([]stream.Value, j.Schema.Len())}
	err = dec.Decode(line, &ev)
	return ev, err
}

func TestDecoder(t *testing.T) {
	// Positional CSV, a skipped column, a time format.
	j := mustParse(t, withBase(`input:
  path: x.csv
  columns: [user, _, ts, n]
  fields:
    user: string
    ts: {type: time, format: unix_ms}
    n: float
  time: ts
  key: user
`))
	ev, err := decodeLine(t, j, "ann,ignored,1772366400000,2.5")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Key != "ann" || ev.Time != t0.UnixNano() || ev.Get("n").Float() != 2.5 {
		t.Errorf("decoded key %q time %v n %v", ev.Key, time.Unix(0, ev.Time).UTC(), ev.Get("n"))
	}
	if _, err := decodeLine(t, j, "ann,x,2026-03-01 12:00:00,2.5"); err == nil {
		t.Errorf("a datetime decoded as unix_ms")
	}

	// JSON.
	j = mustParse(t, withBase("input:\n  path: x.json\n  format: json\n  strict: true\n  fields: {user: string, ts: time, n: float}\n  time: ts\n  key: user\n"))
	ev, err = decodeLine(t, j, `{"user": "bob", "ts": "2026-03-01 12:00:00", "n": 1.5}`)
	if err != nil || ev.Key != "bob" || ev.Time != t0.UnixNano() {
		t.Errorf("json: %v, key %q, time %d", err, ev.Key, ev.Time)
	}
	if _, err := decodeLine(t, j, `{"user": "bob", "ts": "2026-03-01 12:00:00", "n": 1.5, "extra": 1}`); err == nil {
		t.Errorf("strict json accepted an unknown key")
	}

	// CSV with a header: the decoder reads it first.
	j = mustParse(t, withBase("input:\n  path: x.csv\n  header: true\n  fields: {user: string, ts: time, n: float}\n  time: ts\n"))
	dec, err := j.Decoder()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dec.(stream.HeaderDecoder); !ok {
		t.Errorf("a CSV with header gets a %T, not a HeaderDecoder", dec)
	}
}

func TestRecordSpec(t *testing.T) {
	j := mustParse(t, withBase("input:\n  path: x\n  format: json\n  fields: {user: string, ts: time, n: float, seen: {type: time, format: rfc3339}}\n  time: ts\n  key: user\n"))
	rs := j.RecordSpec()
	if rs.Schema != j.Schema || rs.TimeField != "ts" || len(rs.KeyFields) != 1 || rs.KeyFields[0] != "user" {
		t.Errorf("RecordSpec %+v", rs)
	}
	if len(rs.TimeFormats) != 2 || rs.TimeFormats["seen"].String() != "rfc3339" || rs.TimeFormats["ts"].String() != "datetime" {
		t.Errorf("TimeFormats %v, want seen: rfc3339, ts: datetime (the default)", rs.TimeFormats)
	}
}

func TestFileSources(t *testing.T) {
	j, err := Parse("testdata/job.yaml", []byte(withBase("")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.FileSources("", false, stream.FileConfig{}, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("FileSources of a missing file: %v", err)
	}
	srcs, err := j.FileSources(filepath.Join("testdata", "plays", "*.csv"), false, stream.FileConfig{}, nil)
	if err != nil || len(srcs) != 2 {
		t.Errorf("FileSources(glob): %d sources, %v; want 2", len(srcs), err)
	}
	if _, err := j.FileSources(filepath.Join("testdata", "none", "*.csv"), false, stream.FileConfig{}, nil); err == nil || err.Error() != "input testdata/none/*.csv: no file matches" {
		t.Errorf("FileSources(a glob matching nothing): %v", err)
	}
	// Followed, a glob is one source whose files are its partitions, and
	// one matching nothing yet waits for files to appear.
	for _, pattern := range []string{filepath.Join("testdata", "plays", "*.csv"), filepath.Join("testdata", "none", "*.csv")} {
		srcs, err = j.FileSources(pattern, true, stream.FileConfig{}, nil)
		if err != nil || len(srcs) != 1 {
			t.Fatalf("FileSources(%s, follow): %d sources, %v; want 1", pattern, len(srcs), err)
		}
		if g, ok := srcs[0].(*stream.GlobSource); !ok || g.Name() != pattern {
			t.Errorf("FileSources(%s, follow): %T, want a *stream.GlobSource of the pattern", pattern, srcs[0])
		}
	}
	if srcs, err := j.FileSources("-", true, stream.FileConfig{}, nil); err != nil || len(srcs) != 1 {
		t.Errorf("FileSources(-): %d sources, %v", len(srcs), err)
	}

	k := mustParse(t, "input:\n  kafka: {brokers: [b:9092], topic: t, group: g}\n  format: json\n  fields: {user: string, ts: time, n: float}\n  time: ts\n"+baseRules+baseTargets)
	if _, err := k.FileSources("", false, stream.FileConfig{}, nil); err == nil || err.Error() != "job: the input is not a file (kafka); no -input given" {
		t.Errorf("FileSources of a kafka input: %v", err)
	}
	if _, err := j.KafkaSource(nil, KafkaConfig{}); err == nil || err.Error() != "job: the input is not Kafka" {
		t.Errorf("KafkaSource of a file input: %v", err)
	}
}
