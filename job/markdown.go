package job

import (
	"fmt"
	"strings"
)

// Markdown returns the reference of the job-file format as Markdown: one
// table per object, made from the specs the loader checks files against
// (docs/jobs.md carries it between its reference markers, and a test keeps
// the two equal).
func Markdown() string {
	var b strings.Builder
	section := func(title string, s *spec, fields []field) {
		fmt.Fprintf(&b, "### %s\n\n%s\n\n", title, s.doc)
		b.WriteString("| key | type | required | meaning |\n|---|---|---|---|\n")
		for _, f := range fields {
			req := ""
			if f.required {
				req = "yes"
			}
			doc := sentence(f.doc)
			if len(f.enum) > 0 {
				doc = strings.TrimSpace("One of `" + strings.Join(f.enum, "`, `") + "`. " + doc)
			}
			if f.def != "" {
				doc = strings.TrimSpace(doc + " Default `" + f.def + "`.")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.name, typeName(f), req, strings.ReplaceAll(doc, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	section("The file", jobSpec, jobSpec.fields)
	section("input", inputSpec, inputSpec.fields)
	section("input.kafka", kafkaSpec, kafkaSpec.fields)
	section("lookups[]", lookupSpec, lookupSpec.fields)
	section("lookups[].cache", cacheSpec, cacheSpec.fields)
	section("lookups[].load", loadSpec, loadSpec.fields)
	section("windows[]", windowSpec, windowSpec.fields)
	for _, v := range windowSpec.variants {
		section("windows[] of type "+v.name, v, v.fields)
	}
	section("rules[]", ruleSpec, ruleSpec.fields)
	section("targets[]", targetSpec, targetSpec.fields)
	for _, v := range writeSpec.variants {
		section("a write of type "+v.name, v, v.fields)
	}
	return b.String()
}

func typeName(f field) string {
	switch f.typ {
	case tBool:
		return "bool"
	case tInt:
		return "int"
	case tDuration:
		return "duration"
	case tStrings:
		return "name or list"
	case tObject:
		return "object (" + f.obj.name + ")"
	case tObjects:
		return "list of " + f.obj.name
	case tTypes:
		return "map of field types"
	case tAggs:
		return "map of aggregates"
	}
	return "string"
}

// sentence capitalises doc and ends it with a period.
func sentence(doc string) string {
	if doc == "" {
		return ""
	}
	if !strings.HasSuffix(doc, ".") {
		doc += "."
	}
	return strings.ToUpper(doc[:1]) + doc[1:]
}
