package job

import (
	"encoding/json"
	"fmt"
	"strings"
)

// JSONSchema returns the JSON Schema (draft 2020-12) of job files, made
// from the same specs the loader checks files against: editors that use it
// accept what the loader accepts, key for key. Each kind of window and
// target is a closed object of its own, selected by its type.
func JSONSchema() []byte {
	defs := map[string]any{}
	for _, s := range []*spec{inputSpec, kafkaSpec, cacheSpec, loadSpec, lookupSpec, windowSpec, ruleSpec, writeSpec, targetSpec} {
		defs[s.name] = specSchema(s)
	}
	root := closed(jobSpec.doc, jobSpec.fields, nil)
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://github.com/rulestream/rulestream/docs/job.schema.json"
	root["title"] = "rulestream job"
	root["$defs"] = defs
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic("job: JSON Schema: " + err.Error()) // literal data; cannot fail
	}
	return append(b, '\n')
}

// specSchema is a spec's schema: a closed object, or for a spec with
// variants one closed object per variant (common fields plus its own, its
// type a constant).
func specSchema(s *spec) map[string]any {
	if len(s.variants) == 0 {
		return closed(s.doc, s.fields, nil)
	}
	var alts []any
	if s == targetSpec { // several writes instead of one
		var fs []field
		for _, f := range s.fields {
			if f.name != "type" {
				fs = append(fs, f)
			}
		}
		m := closed("several writes, applied atomically per emission", fs, nil)
		m["required"] = []string{"name", "writes"}
		alts = append(alts, m)
	}
	for _, v := range s.variants {
		var fs []field
		for _, f := range s.fields {
			if f.name != "writes" {
				fs = append(fs, f)
			}
		}
		m := closed(v.doc, append(fs, v.fields...), map[string]any{"type": map[string]any{"const": v.name, "description": v.doc}})
		alts = append(alts, m)
	}
	return map[string]any{"description": s.doc, "oneOf": alts}
}

// closed is an object schema of fields that allows no other key.
func closed(doc string, fields []field, override map[string]any) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range fields {
		props[f.name] = fieldSchema(f)
		if f.required || override[f.name] != nil {
			required = append(required, f.name)
		}
	}
	for k, v := range override {
		props[k] = v
	}
	m := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if doc != "" {
		m["description"] = doc
	}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}

// durationPattern matches what parseDuration accepts: whole days, or Go
// durations.
const durationPattern = `^([0-9]+d|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

func fieldSchema(f field) map[string]any {
	var m map[string]any
	switch f.typ {
	case tString:
		m = map[string]any{"type": "string"}
		if len(f.enum) > 0 {
			m["enum"] = f.enum
		}
	case tBool:
		m = map[string]any{"type": "boolean"}
	case tInt:
		m = map[string]any{"type": "integer"}
	case tDuration:
		m = map[string]any{"type": "string", "pattern": durationPattern}
	case tStrings:
		m = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
	case tObject:
		m = map[string]any{"$ref": "#/$defs/" + f.obj.name}
	case tObjects:
		m = map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/" + f.obj.name}}
	case tTypes:
		m = map[string]any{"type": "object", "additionalProperties": map[string]any{"oneOf": []any{
			map[string]any{"enum": fieldTypes},
			map[string]any{"type": "object", "additionalProperties": false, "required": []string{"type"}, "properties": map[string]any{
				"type":   map[string]any{"enum": fieldTypes},
				"format": map[string]any{"type": "string", "description": timeFormatDoc},
			}},
		}}}
	case tAggs:
		m = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string",
			"pattern": `^\s*(count|(` + strings.Join(aggFuncs[1:], "|") + `)\s*\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\))\s*$`}}
	default:
		panic(fmt.Sprintf("job: field %s: no schema for its type", f.name))
	}
	doc := f.doc
	if f.def != "" {
		doc = strings.TrimSpace(doc + " (default " + f.def + ")")
	}
	if doc != "" {
		m["description"] = doc
	}
	return m
}
