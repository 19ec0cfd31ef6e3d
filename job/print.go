package job

import (
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// Print writes the job as loaded, every default resolved (lateness,
// formats, cache sizes, unknown policies...), and the plan: what Build
// makes of it. Nothing a job does is implied.
func (j *Job) Print(w io.Writer) error {
	type field struct {
		Type   string `yaml:"type"`
		Format string `yaml:"format,omitempty"`
	}
	fields := func(fs []Field) *yaml.Node {
		n := &yaml.Node{}
		n.Kind = yaml.MappingNode
		for _, f := range fs {
			v := field{Type: f.Kind.String()}
			if f.Kind == stream.KindTime {
				v.Format = f.Format.String()
				if v.Format == "" {
					v.Format = "datetime"
				}
			}
			var vn yaml.Node
			_ = vn.Encode(v)
			vn.Style = yaml.FlowStyle
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f.Name}, &vn)
		}
		return n
	}
	var out struct {
		Name     string           `yaml:"name"`
		Version  string           `yaml:"version"`
		Input    map[string]any   `yaml:"input"`
		Lateness string           `yaml:"lateness"`
		MaxAhead string           `yaml:"max_ahead"`
		Lookups  []map[string]any `yaml:"lookups"`
		Windows  []map[string]any `yaml:"windows"`
		Rules    []map[string]any `yaml:"rules"`
		Targets  []map[string]any `yaml:"targets"`
		Plan     map[string]any   `yaml:"plan"`
	}
	in := map[string]any{"format": j.Input.Format, "fields": fields(j.Input.Fields), "time": j.Input.Time,
		"strict": j.Input.Strict}
	if j.Input.Kafka != nil {
		in["kafka"] = map[string]any{"brokers": j.Input.Kafka.Brokers, "topic": j.Input.Kafka.Topic, "group": j.Input.Kafka.Group, "offset": j.Input.Kafka.Offset}
	} else {
		in["path"] = j.Input.Path
	}
	if j.Input.Format == "csv" {
		in["header"] = j.Input.Header
		if !j.Input.Header {
			in["columns"] = j.Input.Columns
		}
	}
	if j.Input.ID != "" {
		in["id"] = j.Input.ID
	}
	if len(j.Input.Key) > 0 {
		in["key"] = j.Input.Key
	}
	out.Input = in
	out.Name = j.Name
	out.Version = j.Rules.Version()
	out.Lateness = j.Lateness.String()
	out.MaxAhead = j.MaxAhead.String()
	var lookups []map[string]any
	for _, l := range j.Lookups {
		m := map[string]any{"name": l.Name, "key": l.Key, "fields": fields(l.Fields), "unknown": l.Unknown,
			"cache": map[string]any{"entries": orDefault(l.CacheEntries, 1<<20), "ttl": orDefaultDur(l.CacheTTL, "5m")}}
		if l.Load != nil {
			m["load"] = map[string]any{"file": l.Load.File, "key": l.Load.Key}
		}
		lookups = append(lookups, m)
	}
	out.Lookups = lookups
	var windows []map[string]any
	for _, w := range j.Windows {
		m := map[string]any{"name": w.Name, "type": w.Type, "key": w.Key}
		if w.Where != "" {
			m["where"] = w.Where
		}
		switch w.Type {
		case "count_within":
			m["count"], m["within"] = w.Count, w.Within.String()
		case "tumbling":
			m["size"], m["offset"] = w.Size.String(), w.Offset.String()
		case "sliding":
			m["size"], m["slide"], m["offset"] = w.Size.String(), w.Slide.String(), w.Offset.String()
		case "session":
			m["gap"] = w.Gap.String()
		case "sequence":
			m["steps"], m["within"] = w.Steps, w.Within.String()
		case "absence":
			m["start"], m["end"], m["within"] = w.Start, w.End, w.Within.String()
		case "new_value":
			m["field"], m["within"] = w.Field, w.Within.String()
		case "distinct_count":
			m["field"], m["count"], m["within"] = w.Field, w.Count, w.Within.String()
		}
		m["max_keys"] = orDefault(w.MaxKeys, window.DefaultMaxKeys)
		switch w.Type {
		case "sequence", "absence":
			m["max_matches"] = orDefault(w.MaxMatches, window.DefaultMaxMatches)
			fallthrough
		case "count_within", "new_value", "distinct_count":
			m["max_pending"] = orDefault(w.MaxPending, window.DefaultMaxPending)
		}
		if len(w.Aggregates) > 0 {
			aggs := map[string]string{}
			for _, a := range w.Aggregates {
				aggs[a.Name] = fmt.Sprintf("%s(%s) -> %v", a.Func, a.Field, a.Kind)
			}
			m["aggregates"] = aggs
		}
		windows = append(windows, m)
	}
	out.Windows = windows
	var rs []map[string]any
	for _, r := range j.Rules.Rules() {
		m := map[string]any{"name": r.Name, "when": r.When, "target": r.Target, "enabled": !r.Disabled}
		if r.Window != "" {
			m["window"] = r.Window
		}
		if r.Payload != "" {
			m["payload"] = r.Payload
		}
		if r.Cooldown > 0 {
			m["cooldown"] = r.Cooldown.String()
		}
		rs = append(rs, m)
	}
	out.Rules = rs
	var ts []map[string]any
	for _, t := range j.Targets {
		var ws []map[string]any
		for _, w := range t.Writes {
			m := map[string]any{"type": w.Type, "key": w.Key}
			if len(w.Fields) > 0 {
				m["fields"] = w.Fields
			} else if w.Type == "stream" || w.Type == "hash" || (w.Type == "list" && w.Member == "") {
				m["fields"] = "all"
			}
			if w.MaxLen > 0 {
				m["maxlen"] = w.MaxLen
			}
			if w.Member != "" {
				m["member"] = w.Member
			}
			if w.Type == "sorted_set" {
				m["score"], m["nx"], m["lt"] = w.Score, w.NX, w.LT
				if w.Score == "" {
					m["score"] = "the event time (unix ms)"
				}
			}
			if w.IDField != "" {
				m["id_field"] = w.IDField
			}
			ws = append(ws, m)
		}
		ts = append(ts, map[string]any{"name": t.Name, "writes": ws})
	}
	out.Targets = ts
	p := j.Plan()
	out.Plan = map[string]any{"chain": p.String(), "unused": p.Unused}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return err
	}
	return enc.Close()
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func orDefaultDur(d interface{ String() string }, def string) string {
	if s := d.String(); s != "0s" {
		return s
	}
	return def
}
