package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// RecordSpec is the input's record declaration: its schema, time field and
// formats, and key fields. A job that declares windows accepts the event
// times windows can hold (window.EventTimes, 1823 to 2116): a record
// outside is rejected by the decoder, so that it goes to the dead letter
// with its raw bytes before any rule fires on it.
func (j *Job) RecordSpec() stream.RecordSpec {
	rs := stream.RecordSpec{Schema: j.Schema, TimeField: j.Input.Time, KeyFields: j.Input.Key}
	if len(j.Windows) > 0 && j.Input.Time != "" {
		rs.EventTimes = window.EventTimes
	}
	for _, f := range j.Input.Fields {
		if f.Kind == stream.KindTime && f.Format.String() != "" {
			if rs.TimeFormats == nil {
				rs.TimeFormats = map[string]stream.TimeFormat{}
			}
			rs.TimeFormats[f.Name] = f.Format
		}
	}
	return rs
}

// Decoder returns a decoder of the input's records: positional or
// header-mapped CSV, or JSON. Its Schema is the job's from the start.
func (j *Job) Decoder() (stream.Decoder, error) {
	spec := j.RecordSpec()
	switch {
	case j.Input.Format == "json":
		return stream.NewJSONDecoder(spec, stream.JSONConfig{Strict: j.Input.Strict})
	case j.Input.Header:
		return stream.NewHeaderCSVDecoder(spec, stream.CSVConfig{Strict: j.Input.Strict})
	}
	return stream.NewColumnsDecoder(spec, j.Input.Columns)
}

// IsGlob says whether an input path is a glob (holds *, ? or [).
func IsGlob(path string) bool { return strings.ContainsAny(path, "*?[") }

// FileSources returns the sources of a file input, or stdin for "-". path,
// when not "", replaces the job's (it is taken as given, not relative to
// the job file). follow reads each file like tail -F instead of to its
// end: a followed glob is one stream.GlobSource, each file a partition of
// its own (a source of its own in SourceStats), joined by the files that
// match later (each logged to logger, which may be nil); read to its end,
// a glob gives one source per file matching now, and matching none is an
// error. Kafka inputs are built by the caller (they need the pipeline's
// partition hooks).
func (j *Job) FileSources(path string, follow bool, cfg stream.FileConfig, logger *slog.Logger) ([]stream.Source, error) {
	if path == "" {
		path = j.Input.Path
	}
	if path == "" {
		return nil, errors.New("job: the input is not a file (kafka); no -input given")
	}
	dec, err := j.Decoder()
	if err != nil {
		return nil, err
	}
	cfg.Follow = follow
	if cfg.Logger == nil {
		cfg.Logger = logger // a resumed file replaced or truncated since is logged
	}
	if path == "-" {
		return []stream.Source{stream.NewFileSource("-", dec, cfg)}, nil
	}
	if follow && IsGlob(path) {
		// Followed, a glob is one source whose files are its partitions,
		// each judged on its own, and files that appear later join it.
		g, err := stream.NewGlobSource(path, j.Decoder, stream.GlobConfig{File: cfg, Logger: logger})
		if err != nil {
			return nil, err
		}
		return []stream.Source{g}, nil
	}
	files := []string{path}
	if IsGlob(path) {
		if files, err = filepath.Glob(path); err != nil {
			return nil, fmt.Errorf("input %s: %w", path, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("input %s: no file matches", path)
		}
	}
	var out []stream.Source
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		d := dec
		if len(out) > 0 { // a header decoder learns its header per file
			if d, err = j.Decoder(); err != nil {
				return nil, err
			}
		}
		out = append(out, stream.NewFileSource(f, d, cfg))
	}
	return out, nil
}

// LateSink returns the sink of late events: each is written to the late
// target with its fields and late_by_ms (the watermark, as wm reports it
// when the event is written, minus the event's time), under the id
// "late:<position>". It is nil when the job has no late target.
func (b *Built) LateSink(wm func() int64) stream.Sink {
	if b.late == nil {
		return nil
	}
	return &lateSink{b: b, wm: wm, schema: b.job.lateSchema()}
}

type lateSink struct {
	b      *Built
	wm     func() int64
	schema *stream.Schema
}

// WriteLate writes late events, each late by the watermark it was found
// behind (stream.LateWriter: what the pipeline calls).
func (s *lateSink) WriteLate(ctx context.Context, evs []stream.Event, wms []int64) error {
	out := make([]stream.Event, len(evs))
	for i := range evs {
		w := stream.MinWatermark
		if i < len(wms) {
			w = wms[i]
		}
		out[i] = s.late(&evs[i], w)
	}
	return s.b.late.Write(ctx, out)
}

// Write writes late events, each late by the watermark wm reports now.
func (s *lateSink) Write(ctx context.Context, evs []stream.Event) error {
	w := s.wm()
	out := make([]stream.Event, len(evs))
	for i := range evs {
		out[i] = s.late(&evs[i], w)
	}
	return s.b.late.Write(ctx, out)
}

// late is the late target's event of ev, found behind watermark w. Its id
// is "late:<position>:<fingerprint>": a replay writes it once, another
// record at the same position is not taken for it.
func (s *lateSink) late(ev *stream.Event, w int64) stream.Event {
	fields := make([]stream.Value, s.schema.Len())
	for k := range fields {
		fields[k] = ev.Get(s.schema.Field(k).Name)
	}
	if s.schema != s.b.job.Schema {
		by := int64(0)
		if w != stream.MinWatermark && w != stream.MaxWatermark && w > ev.Time {
			by = int64((uint64(w) - uint64(ev.Time)) / 1e6) // w-ev.Time may exceed int64 (1678 behind 2262)
		}
		fields[len(fields)-1] = stream.Int(by)
	}
	id := ev.AppendFingerprint([]byte("late:" + ev.Pos.String() + ":"))
	return stream.Event{Key: ev.Key, Time: ev.Time, Pos: ev.Pos, Schema: s.schema, Fields: fields, Target: LateTarget, ID: string(id)}
}

func (s *lateSink) Flush(ctx context.Context) error   { return s.b.late.Flush(ctx) }
func (s *lateSink) Connect(ctx context.Context) error { return s.b.late.Connect(ctx) }
func (s *lateSink) Close(ctx context.Context) error   { return s.b.late.Close(ctx) }
