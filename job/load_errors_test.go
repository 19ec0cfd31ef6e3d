package job

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadErrorCases are one job per kind of error the loader reports, with
// every error it must report, in order, as Error() prints it:
// file:line:col: path: message. The sections a case is about come first in
// its text, so that its line numbers count from its own first line;
// withBase appends the base sections it leaves out.
var loadErrorCases = []struct {
	name string
	src  string // raw job text (use withBase to complete it)
	want []string
}{
	// The document.
	{"yaml syntax", withBase("input: [\n"), []string{
		"job.yaml:2:1: did not find expected node content"}},
	{"yaml tab indentation", "input:\n\tpath: x\n", []string{
		"job.yaml:2:1: found character that cannot start any token"}},
	{"empty file", "", []string{
		"job.yaml: empty file: want a mapping with input, rules and targets"}},
	{"only comments", "  \n# nothing here\n", []string{
		"job.yaml: empty file: want a mapping with input, rules and targets"}},
	{"top level a list", "- input\n- rules\n", []string{
		"job.yaml:1:1: want a mapping (A rulestream job: input, lookups, windows, rules and targets.)"}},
	{"top level a scalar", "hello\n", []string{
		"job.yaml:1:1: want a mapping (A rulestream job: input, lookups, windows, rules and targets.)"}},
	{"top level null", "null\n", []string{
		"job.yaml:1:1: want a mapping (A rulestream job: input, lookups, windows, rules and targets.)"}},
	{"unknown top-level key", withBase("nme: x\n"), []string{
		`job.yaml:1:1: unknown field "nme" (want name, version, description, input, lateness, max_ahead, idle_advance, order, lookups, windows, rules, targets)`}},
	{"repeated top-level key", withBase("name: a\nname: b\n"), []string{
		`job.yaml:2:1: field "name" given twice`}},
	{"repeated section", withBase(baseTargets + baseTargets), []string{
		`job.yaml:5:1: field "targets" given twice`}},
	{"missing input, rules and targets", "name: x\n", []string{
		"job.yaml:1:1: missing input",
		"job.yaml:1:1: missing rules",
		"job.yaml:1:1: missing targets"}},
	{"missing rules only", baseInput + baseTargets, []string{
		"job.yaml:1:1: missing rules"}},
	{"bad duration", withBase("lateness: soon\n"), []string{
		`job.yaml:1:11: lateness: "soon" is not a duration (e.g. 30s, 5m, 24h, 7d)`}},
	{"negative duration", withBase("lateness: -5m\n"), []string{
		`job.yaml:1:11: lateness: "-5m" is not a duration (e.g. 30s, 5m, 24h, 7d)`}},
	{"a mapping where a string is wanted", withBase("name: {a: 1}\n"), []string{
		"job.yaml:1:7: name: want a string"}},
	{"null where a duration is wanted", withBase("lateness:\n"), []string{
		"job.yaml:1:10: lateness: want a duration (e.g. 30s, 5m, 24h, 7d)"}},

	// input: shapes and enums.
	{"input null", withBase("input:\n"), []string{
		"job.yaml:1:7: input: want a mapping (Where events come from and how they are decoded.)"}},
	{"input a list", withBase("input: [path]\n"), []string{
		"job.yaml:1:8: input: want a mapping (Where events come from and how they are decoded.)"}},
	{"bad bool", withBase("input:\n  path: x\n  header: maybe\n  fields: {a: string, t: time}\n  time: t\n"), []string{
		"job.yaml:2:3: input: missing columns: a CSV without header needs the field of each column (or header: true)",
		`job.yaml:3:11: input.header: want true or false, not "maybe"`}},
	{"format enum", withBase("input:\n  path: x\n  format: xml\n  header: true\n  fields: {a: string, t: time}\n  time: t\n"), []string{
		`job.yaml:3:11: input.format: "xml" is not one of csv, json`}},
	{"kafka offset enum", withBase("input:\n  kafka: {brokers: b:9092, topic: t, group: g, offset: middle}\n  format: json\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		`job.yaml:2:56: input.kafka.offset: "middle" is not one of oldest, newest`}},
	{"kafka missing topic and group", withBase("input:\n  kafka: {brokers: [b:9092]}\n  format: json\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		"job.yaml:2:10: input.kafka: missing topic",
		"job.yaml:2:10: input.kafka: missing group"}},
	{"path and kafka both", withBase("input:\n  path: x\n  kafka: {brokers: [b:9092], topic: t, group: g}\n  format: json\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		"job.yaml:3:3: input: give path or kafka, not both"}},
	{"neither path nor kafka", withBase("input:\n  format: json\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		"job.yaml:2:3: input: want path (a file, a glob or -) or kafka"}},
	{"a list where a string is wanted", withBase("input:\n  path: [a, b]\n  format: json\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		"job.yaml:2:3: input: want path (a file, a glob or -) or kafka",
		"job.yaml:2:9: input.path: want a string"}},
	{"null where a string is wanted", withBase("input:\n  path: x\n  format: json\n  fields: {a: int, t: time}\n  time:\n"), []string{
		"job.yaml:5:8: input.time: want a string"}},
	{"missing fields and time", withBase("input:\n  path: x\n  format: json\n"), []string{
		"job.yaml:2:3: input: missing fields",
		"job.yaml:2:3: input: missing time"}},

	// input: fields.
	{"fields a list", withBase("input:\n  path: x\n  format: json\n  fields: [a, t]\n  time: t\n"), []string{
		"job.yaml:4:11: input.fields: want a mapping of names to types",
		`job.yaml:5:9: input.time: no field "t" (fields: )`}},
	{"unknown field type", withBase("input:\n  path: x\n  header: true\n  fields: {a: strin, t: time}\n  time: t\n"), []string{
		`job.yaml:4:15: input.fields.a: unknown type "strin" (want string, int, float, bool, time)`}},
	{"field shapes", withBase("input:\n  path: x\n  header: true\n  fields:\n    a-b: int\n    t: {type: time, format: [x]}\n    u: {type: time, fmt: unix}\n    v: [int]\n    w: {format: unix}\n  time: t\n"), []string{
		`job.yaml:5:5: input.fields: field name "a-b": use letters, digits and '_', not starting with a digit, and not a CEL word (in, as, true...)`,
		"job.yaml:6:29: input.fields.t.format: want a time format: " + timeFormatDoc,
		`job.yaml:7:21: input.fields.u: unknown field "fmt" (want type, format)`,
		"job.yaml:8:8: input.fields.v: want a type (string, int, float, bool, time) or {type: time, format: ...}",
		`job.yaml:9:8: input.fields.w: unknown type "" (want string, int, float, bool, time)`}},
	{"field declared twice", withBase("input:\n  path: x\n  format: json\n  fields: {a: int, t: time, a: string}\n  time: t\n"), []string{
		`job.yaml:4:29: input.fields: field "a" declared twice`}},
	{"format on a non-time field", withBase("input:\n  path: x\n  header: true\n  fields: {a: {type: int, format: unix}, t: time}\n  time: t\n"), []string{
		"job.yaml:4:15: input.fields.a: format applies to time fields only"}},
	{"bad time format", withBase("input:\n  path: x\n  header: true\n  fields: {a: int, t: {type: time, format: bogus}}\n  time: t\n"), []string{
		`job.yaml:4:44: input.fields.t.format: time format "bogus": neither one of datetime, rfc3339, unix, unix_ms, unix_us, unix_ns nor a Go layout such as "2006-01-02 15:04:05"`}},
	{"time field missing", withBase("input:\n  path: x\n  header: true\n  fields: {a: int, t: time}\n  time: b\n"), []string{
		`job.yaml:5:9: input.time: no field "b" (fields: a, t)`}},
	{"time field not a time", withBase("input:\n  path: x\n  header: true\n  fields: {a: int, t: time}\n  time: a\n"), []string{
		`job.yaml:5:9: input.time: field "a" is an int; want time`}},
	{"id and key naming unknown fields", withBase("input:\n  path: x\n  header: true\n  fields: {a: int, t: time}\n  time: t\n  id: zz\n  key: [a, yy]\n"), []string{
		`job.yaml:6:7: input.id: no field "zz" (fields: a, t)`,
		`job.yaml:7:12: input.key: no field "yy" (fields: a, t)`}},
	{"input field named rule and at", withBase("input:\n  path: x\n  format: json\n  fields: {rule: int, t: time, at: int}\n  time: t\n"), []string{
		`job.yaml:4:11: input.fields: field "rule": emissions carry their own rule; rename the input's field`,
		`job.yaml:4:11: input.fields: field "at": emissions carry their own at; rename the input's field`}},
	{"input field named rule_version", withBase("input:\n  path: x\n  format: json\n  fields: {rule_version: int, t: time}\n  time: t\n"), []string{
		`job.yaml:4:11: input.fields: field "rule_version": emissions carry their own rule_version; rename the input's field`}},

	// input: columns.
	{"headerless csv without columns", withBase("input:\n  path: x\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		"job.yaml:2:3: input: missing columns: a CSV without header needs the field of each column (or header: true)"}},
	{"columns with header", withBase("input:\n  path: x\n  header: true\n  columns: [a, t]\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		"job.yaml:4:3: input: columns is for CSV without a header (the header names the columns)"}},
	{"column naming an unknown field, duplicated column, field in no column", withBase("input:\n  path: x\n  columns: [a, b, a]\n  fields: {a: int, t: time, c: int}\n  time: t\n"), []string{
		`job.yaml:3:12: input.columns: field "t" is in no column`,
		`job.yaml:3:12: input.columns: field "c" is in no column`,
		`job.yaml:3:16: input.columns: column 2: no field "b" (fields: a, t, c)`,
		`job.yaml:3:19: input.columns: column 3: field "a" is already column 1`}},
	{"skipped columns are fine but fields still need one", withBase("input:\n  path: x\n  columns: [_, t, _]\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		`job.yaml:3:12: input.columns: field "a" is in no column`}},
	{"json with columns", withBase("input:\n  path: x\n  format: json\n  columns: [a, t]\n  fields: {a: int, t: time}\n  time: t\n"), []string{
		"job.yaml:4:12: input: columns and header are for CSV"}},

	// lookups.
	{"lookups a mapping", withBase("lookups:\n  name: d\n"), []string{
		"job.yaml:2:3: lookups: want a list (of lookups)"}},
	{"lookup names, keys, cache and load", withBase(`lookups:
  - name: 1cust
    key: c:{user}
    fields: {a: int}
  - name: event
    key: c:{user}
    fields: {a: int}
  - name: c
    key: c:{user
    fields: {a: int}
  - name: c
    key: c:all
    fields: {a: int}
  - name: d
    key: c:{nope}
    fields: {a: int}
    cache: {entries: 0}
    load: {file: x.csv, key: "d:{zz}"}
`), []string{
		`job.yaml:2:11: lookups[0].name: "1cust": a lookup's name is a CEL variable: use letters, digits and '_', not starting with a digit`,
		`job.yaml:5:11: lookups[1].name: "event" is a variable of every rule; name the lookup otherwise`,
		`job.yaml:9:10: lookups[2].key: template "c:{user": offset 2: unclosed '{'`,
		`job.yaml:11:11: lookups[3].name: lookup "c" declared twice`,
		`job.yaml:12:10: lookups[3].key: the key "c:all" names no event field: every event would read one hash`,
		`job.yaml:15:10: lookups[4].key: {nope}: no such input field (fields: id, user, track, ts, n)`,
		"job.yaml:17:22: lookups[4].cache.entries: want a positive number of entries",
		`job.yaml:18:30: lookups[4].load.key: {zz}: not a field of the lookup (fields: a)`}},
	{"lookups named window and now", withBase("lookups:\n  - name: now\n    key: c:{user}\n    fields: {a: int}\n  - name: window\n    key: c:{user}\n    fields: {a: int}\n"), []string{
		`job.yaml:2:11: lookups[0].name: "now" is a variable of every rule; name the lookup otherwise`,
		`job.yaml:5:11: lookups[1].name: "window" is a variable of every rule; name the lookup otherwise`}},
	{"lookup negative cache, bad ttl, unknown enum", withBase("lookups:\n  - name: d\n    key: c:{user}\n    fields: {a: int}\n    cache: {entries: -3, ttl: 1x}\n    unknown: ignore\n"), []string{
		"job.yaml:5:22: lookups[0].cache.entries: want a positive number of entries",
		`job.yaml:5:31: lookups[0].cache.ttl: "1x" is not a duration (e.g. 30s, 5m, 24h, 7d)`,
		`job.yaml:6:14: lookups[0].unknown: "ignore" is not one of pass, drop, deadletter`}},
	{"lookup key unmatched brace", withBase("lookups:\n  - name: d\n    key: c:{user}}\n    fields: {a: int}\n"), []string{
		`job.yaml:3:10: lookups[0].key: template "c:{user}}": offset 8: unmatched '}' (write '}}' for a literal brace)`}},
	{"lookup load without key", withBase("lookups:\n  - name: d\n    key: c:{user}\n    fields: {a: int}\n    load: {file: x.csv}\n"), []string{
		"job.yaml:5:11: lookups[0].load: missing key"}},
	{"lookup load key empty placeholder", withBase("lookups:\n  - name: d\n    key: c:{user}\n    fields: {a: int}\n    load: {file: x.csv, key: \"d:{}\"}\n"), []string{
		`job.yaml:5:30: lookups[0].load.key: template "d:{}": offset 2: bad placeholder {}`}},
	{"lookup missing fields", withBase("lookups:\n  - name: d\n    key: c:{user}\n"), []string{
		"job.yaml:2:5: lookups[0]: missing fields"}},

	// windows.
	{"window names, types and missing keys", withBase(`windows:
  - name: 2w
    type: tumbling
    key: user
    size: 1h
  - name: w
    type: hopping
    key: user
  - name: w
    type: count_within
    key: user
  - name: t
    type: tumbling
    key: user
  - name: s
    type: sliding
    key: user
    size: 1h
  - name: g
    type: session
    key: nobody
`), []string{
		`job.yaml:2:11: windows[0].name: "2w": use letters, digits and '_', not starting with a digit`,
		`job.yaml:7:11: windows[1].type: unknown type "hopping" (want count_within, tumbling, sliding, session, sequence, absence, new_value, distinct_count)`,
		"job.yaml:9:5: windows[2]: missing count",
		"job.yaml:9:5: windows[2]: missing within",
		`job.yaml:9:11: windows[2].name: window "w" declared twice`,
		"job.yaml:12:5: windows[3]: missing size",
		"job.yaml:15:5: windows[4]: missing slide",
		"job.yaml:19:5: windows[5]: missing gap",
		`job.yaml:21:10: windows[5].key: no input field "nobody" (fields: id, user, track, ts, n)`}},
	{"window missing name, type and key", withBase("windows:\n  - count: 3\n"), []string{
		`job.yaml:2:5: windows[0]: unknown field "count" (want name, type, key, where, max_keys)`,
		"job.yaml:2:5: windows[0]: missing name",
		"job.yaml:2:5: windows[0]: missing type",
		"job.yaml:2:5: windows[0]: missing key",
		`job.yaml:2:5: windows[0].name: "": use letters, digits and '_', not starting with a digit`}},
	{"window values out of range", withBase(`windows:
  - name: c
    type: count_within
    key: user
    count: 0
    within: 10m
  - name: d
    type: count_within
    key: user
    count: 40000
    within: 10m
  - name: s
    type: sliding
    key: [user]
    size: 1h
    slide: 2h
  - name: t
    type: tumbling
    key: []
    size: 0s
  - name: g
    type: session
    key: user
    gap: 0s
  - name: u
    type: session
    key: user
    gap: 1m
    count: 3
`), []string{
		"job.yaml:5:12: windows[0].count: must be between 1 and 32768",
		"job.yaml:10:12: windows[1].count: must be between 1 and 32768",
		"job.yaml:16:12: windows[2].slide: slide 2h0m0s is longer than size 1h0m0s",
		"job.yaml:19:10: windows[3].key: want at least one field",
		"job.yaml:20:11: windows[3].size: must be positive",
		"job.yaml:24:10: windows[4].gap: must be positive",
		`job.yaml:29:5: windows[5]: unknown field "count" (want name, type, key, where, max_keys, gap, aggregates)`}},
	{"count_within has no aggregates", withBase("windows:\n  - name: w\n    type: count_within\n    key: user\n    count: 3\n    within: 10m\n    aggregates: {a: count}\n"), []string{
		`job.yaml:7:5: windows[0]: unknown field "aggregates" (want name, type, key, where, max_keys, count, within, max_pending, early)`}},
	{"where type error, plain scalar", withBase("windows:\n  - name: w\n    type: count_within\n    key: user\n    count: 3\n    within: 10m\n    where: event.n > \"x\"\n"), []string{
		"job.yaml:7:20: windows[0].where: found no matching overload for '_>_' applied to '(double, string)'\n" +
			" | event.n > \"x\"\n" +
			" | ........^"}},
	{"where unknown field, quoted scalar", withBase("windows:\n  - name: w\n    type: count_within\n    key: user\n    count: 3\n    within: 10m\n    where: \"event.n > 1.0 && event.nope\"\n"), []string{
		"job.yaml:7:35: windows[0].where: undefined field 'nope'\n" +
			" | event.n > 1.0 && event.nope\n" +
			" | ......................^"}},
	{"where unknown field, block scalar", withBase("windows:\n  - name: w\n    type: count_within\n    key: user\n    count: 3\n    within: 10m\n    where: |\n      event.n > 1.0 &&\n        event.bogus == 1\n"), []string{
		"job.yaml:9:14: windows[0].where: undefined field 'bogus'\n" +
			" |   event.bogus == 1\n" +
			" | .......^"}},
	{"where syntax error", withBase("windows:\n  - name: w\n    type: tumbling\n    key: user\n    size: 1h\n    where: 1 +\n"), []string{
		"job.yaml:6:15: windows[0].where: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n" +
			" | 1 +\n" +
			" | ...^"}},
	{"where reading window", withBase("windows:\n  - name: w\n    type: count_within\n    key: user\n    count: 3\n    within: 10m\n    where: window.count > 1\n"), []string{
		"job.yaml:7:12: windows[0].where: a window's where: reads the events entering it, not window"}},
	{"where not a bool", withBase("windows:\n  - name: w\n    type: count_within\n    key: user\n    count: 3\n    within: 10m\n    where: event.n\n"), []string{
		"job.yaml:7:12: windows[0].where: must return bool, got double"}},
	{"aggregates", withBase(`windows:
  - name: w
    type: tumbling
    key: user
    size: 1h
    aggregates:
      a: median(n)
      b: count(n)
      c: sum
      d: sum(user)
      e: max(zz)
      f: distinct(track)
      1g: count
      f: count
      h: [count]
`), []string{
		"job.yaml:7:10: windows[0].aggregates.a: want count or one of sum, min, max, first, last, distinct applied to a field, e.g. sum(length)",
		"job.yaml:8:10: windows[0].aggregates.b: count takes no field",
		"job.yaml:9:10: windows[0].aggregates.c: sum needs a field: sum(field)",
		`job.yaml:10:10: windows[0].aggregates.d: sum of "user", a string: want an int or float field`,
		`job.yaml:11:10: windows[0].aggregates.e: no input field "zz" (fields: id, user, track, ts, n)`,
		`job.yaml:13:7: windows[0].aggregates: aggregate name "1g": use letters, digits and '_'`,
		`job.yaml:14:7: windows[0].aggregates: aggregate "f" declared twice`,
		"job.yaml:15:10: windows[0].aggregates.h: want count or one of sum, min, max, first, last, distinct applied to a field, e.g. sum(length)"}},
	{"aggregates a list", withBase("windows:\n  - name: w\n    type: tumbling\n    key: user\n    size: 1h\n    aggregates: [count]\n"), []string{
		"job.yaml:6:17: windows[0].aggregates: want a mapping of names to aggregates"}},

	// rules.
	{"rules a mapping", withBase("rules:\n  name: a\n"), []string{
		"job.yaml:2:3: rules: want a list (of rules)"}},
	{"CEL errors inside rule conditions", withBase(`rules:
  - name: a
    when: event.n > "x"
    target: out
  - name: b
    when: 'event.n > 1.0 && event.zz'
    target: out
  - name: c
    when: >
      event.n > 1.0 &&
      event.qq == 2
    target: out
  - name: d
    when: event.n
    target: out
`), []string{
		"job.yaml:3:19: rules[a].when: found no matching overload for '_>_' applied to '(double, string)'\n" +
			" | event.n > \"x\"\n" +
			" | ........^",
		"job.yaml:6:34: rules[b].when: undefined field 'zz'\n" +
			" | event.n > 1.0 && event.zz\n" +
			" | ......................^",
		"job.yaml:11:12: rules[c].when: undefined field 'qq'\n" +
			" | event.n > 1.0 && event.qq == 2\n" +
			" | ......................^",
		"job.yaml:14:11: rules[d].when: must return bool, got double"}},
	{"CEL error in a literal block", withBase("rules:\n  - name: a\n    when: |\n      event.n > 1.0 &&\n      event.nope\n    target: out\n"), []string{
		"job.yaml:5:12: rules[a].when: undefined field 'nope'\n" +
			" | event.nope\n" +
			" | .....^"}},
	{"payload syntax error and window outside a window rule", withBase("rules:\n  - name: a\n    when: window.count > 1\n    target: out\n  - name: b\n    when: true\n    payload: '{\"x\": 1'\n    target: out\n"), []string{
		"job.yaml:3:11: rules[a].when: reads window but the rule has no window: name",
		"job.yaml:7:22: rules[b].payload: Syntax error: mismatched input '<EOF>' expecting {'}', ','}\n" +
			" | {\"x\": 1\n" +
			" | .......^"}},
	{"unknown window, unknown targets, duplicate names", withBase(`rules:
  - name: a
    window: nope
    when: window.count > 1
    target: out
  - name: b
    when: true
    target: elsewhere
  - name: c
    when: true
    target: deadletter
  - name: d
    when: true
    target: late
  - name: a
    when: true
    target: out
`), []string{
		`job.yaml:3:13: rules[a].window: unknown window "nope" (no window is declared)`,
		`job.yaml:8:13: rules[b].target: unknown target "elsewhere" (declared: out)`,
		`job.yaml:11:13: rules[c].target: the deadletter target receives malformed input, not emissions: rules cannot emit to it`,
		`job.yaml:14:13: rules[d].target: the late target receives late events, not emissions: rules cannot emit to it`,
		"job.yaml:15:11: rules[a].name: duplicate rule name (first declared at line 2)"}},
	// The rules' environment lists no target here; the message ends in an
	// empty list (reported: it could say that deadletter and late receive
	// no emissions).
	{"rule targeting deadletter and late while they are declared", withBase(`rules:
  - name: c
    when: true
    target: deadletter
  - name: d
    when: true
    target: late
targets:
  - name: deadletter
    type: stream
    key: dl
  - name: late
    type: stream
    key: lt
`), []string{
		`job.yaml:4:13: rules[c].target: the deadletter target receives malformed input, not emissions: rules cannot emit to it`,
		`job.yaml:7:13: rules[d].target: the late target receives late events, not emissions: rules cannot emit to it`}},
	{"bad cooldown", withBase("rules:\n  - name: b\n    when: true\n    target: out\n    cooldown: 1 day\n"), []string{
		`job.yaml:5:15: rules[b].cooldown: "1 day" is not a duration (e.g. 30m, 24h, 7d)`}},
	{"negative cooldown", withBase("rules:\n  - name: b\n    when: true\n    target: out\n    cooldown: -1h\n"), []string{
		`job.yaml:5:15: rules[b].cooldown: "-1h" is not a duration (e.g. 30m, 24h, 7d)`}},
	{"rule bad enabled, unknown field", withBase("rules:\n  - name: a\n    when: true\n    target: out\n    enabled: sometimes\n    extra: 1\n"), []string{
		"job.yaml:5:14: rules[a].enabled: want true or false",
		`job.yaml:6:5: rules[a]: unknown field "extra" (want name, when, target, payload, cooldown, window, enabled, description)`}},
	{"rule when a list, when null", withBase("rules:\n  - name: a\n    when: [true]\n    target: out\n"), []string{
		"job.yaml:3:11: rules[a].when: want a string"}},
	{"rule when null", withBase("rules:\n  - name: b\n    when:\n    target: out\n"), []string{
		"job.yaml:3:10: rules[b].when: missing when"}},

	// targets.
	{"targets shapes", withBase(`targets:
  - name: out
    type: stream
    writes:
      - type: set
        key: s
        member: user
  - name: out
    key: q
  - name: other
    type: queue
    key: q
  - name: x
    writes: []
`), []string{
		"job.yaml:2:5: targets[0]: missing key",
		"job.yaml:4:5: targets[0]: give one write (type and its keys) or writes, not both",
		"job.yaml:8:5: targets[1]: missing type (stream, list, sorted_set, set, hash) or writes",
		`job.yaml:8:11: targets[1].name: target "out" declared twice`,
		`job.yaml:9:5: targets[1]: unknown field "key" (want name, type, writes)`,
		`job.yaml:11:11: targets[2].type: unknown type "queue" (want stream, list, sorted_set, set, hash)`,
		`job.yaml:12:5: targets[2]: unknown field "key" (want name, type, writes)`,
		"job.yaml:14:13: targets[3].writes: want at least one write"}},
	{"writes missing keys and members", withBase(`targets:
  - name: out
    writes:
      - type: set
        key: s
      - type: sorted_set
        key: z
      - key: z
      - type: stream
`), []string{
		"job.yaml:4:9: targets[0].writes[0]: missing member",
		"job.yaml:6:9: targets[0].writes[1]: missing member",
		`job.yaml:8:9: targets[0].writes[2]: unknown field "key" (want type)`,
		"job.yaml:8:9: targets[0].writes[2]: missing type",
		"job.yaml:9:9: targets[0].writes[3]: missing key"}},
	{"target fields the emissions lack", `targets:
  - name: out
    type: stream
    key: "q:{nope}:{user}"
    fields: [user, rule, rule_version, at, zz]
    maxlen: -1
    id_field: eid
  - name: o2
    type: sorted_set
    key: "z:{$who}"
    member: zz
    score: user
  - name: o3
    type: list
    key: "l:{$target}:{$key}:{$id}"
    member: yy
  - name: o4
    type: sorted_set
    key: "z"
    member: user
    score: ts
  - name: o5
    type: hash
    key: "h:{user"
rules:
  - name: big
    when: event.n > 1.0
    target: out
  - name: b2
    when: event.n > 1.0
    target: o2
  - name: b3
    when: event.n > 1.0
    target: o3
  - name: b4
    when: event.n > 1.0
    target: o4
  - name: b5
    when: event.n > 1.0
    target: o5
` + baseInput, []string{
		`job.yaml:4:10: targets[0].key: rule big has no field "nope" (it has id, user, track, ts, n, rule, rule_version, at)`,
		`job.yaml:5:13: targets[0].fields: rule big has no field "zz" (it has id, user, track, ts, n, rule, rule_version, at)`,
		"job.yaml:6:13: targets[0].maxlen: must not be negative",
		"job.yaml:10:10: targets[1].key: {$who}: the special names are {$target}, {$key} and {$id}",
		`job.yaml:11:13: targets[1].member: rule b2 has no field "zz" (it has id, user, track, ts, n, rule, rule_version, at)`,
		`job.yaml:12:12: targets[1].score: rule b2's field "user" is a string; a score is an int, a float or a time`,
		`job.yaml:16:13: targets[2].member: rule b3 has no field "yy" (it has id, user, track, ts, n, rule, rule_version, at)`,
		`job.yaml:24:10: targets[4].key: template "h:{user": offset 2: unclosed '{'`}},
	{"target fields lacked by one of two rules", `targets:
  - name: out
    type: stream
    key: q
    fields: [user, extra]
rules:
  - name: with
    when: true
    target: out
    payload: '{"extra": "x"}'
  - name: without
    when: true
    target: out
` + baseInput, []string{
		`job.yaml:5:13: targets[0].fields: rule without has no field "extra" (it has id, user, track, ts, n, rule, rule_version, at)`}},
	{"a time window's emissions carry its key fields only", `windows:
  - name: w
    type: tumbling
    key: user
    size: 1h
    aggregates: {plays: count}
rules:
  - name: r
    window: w
    when: window.aggregates.plays > 2
    target: out
targets:
  - name: out
    type: stream
    key: "q:{user}:{track}"
` + baseInput, []string{
		`job.yaml:15:10: targets[0].key: rule r has no field "track" (it has user, rule, rule_version, at)`}},
	{"deadletter and late targets", `targets:
  - name: out
    type: stream
    key: q
  - name: deadletter
    type: stream
    key: "dl:{user}"
    fields: [reason, user]
  - name: late
    type: sorted_set
    key: "late"
    member: id
    score: nope
` + baseInput + baseRules, []string{
		`job.yaml:7:10: targets[1].key: malformed input has no field "user" (it has source, position, reason, raw)`,
		`job.yaml:8:13: targets[1].fields: malformed input has no field "user" (it has source, position, reason, raw)`,
		`job.yaml:13:12: targets[2].score: late events has no field "nope" (it has id, user, track, ts, n, late_by_ms)`}},
	{"bad int, field of another write type", withBase("targets:\n  - name: out\n    type: stream\n    key: \"q\"\n    maxlen: ten\n    nx: true\n"), []string{
		`job.yaml:5:13: targets[0].maxlen: want an integer, not "ten"`,
		`job.yaml:6:5: targets[0]: unknown field "nx" (want name, type, writes, key, fields, maxlen, id_field)`}},

	// Several errors of different sections, reported together in file order.
	{"several errors sorted by position", `targets:
  - name: out
    type: stream
    key: q
    maxlen: -1
lateness: 5 minutes
input:
  path: x
  format: json
  fields: {a: int, t: time}
  time: a
  id: b
rules:
  - name: r
    when: true
    target: out
windows:
  - name: w
    type: session
    key: a
`, []string{
		`job.yaml:6:11: lateness: "5 minutes" is not a duration (e.g. 30s, 5m, 24h, 7d)`,
		`job.yaml:11:9: input.time: field "a" is an int; want time`,
		`job.yaml:12:7: input.id: no field "b" (fields: a, t)`,
		"job.yaml:18:5: windows[0]: missing gap"}},
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range loadErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			es := parseErrors(t, tc.src)
			var got []string
			for _, e := range es {
				if e.File != "job.yaml" {
					t.Errorf("error %q has File %q", e, e.File)
				}
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s\n--- job:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), tc.src)
			}
		})
	}
}

// TestLoadErrorsUnroutedTarget: a write's own mistakes (a key template that
// does not parse, a special name that does not exist, a negative maxlen)
// are errors whether or not a rule routes emissions to its target yet.
func TestLoadErrorsUnroutedTarget(t *testing.T) {
	src := `targets:
  - name: out
    type: stream
    key: q
  - name: spare
    type: stream
    key: "h:{user"
    maxlen: -5
  - name: later
    type: set
    key: "s:{$who}"
    member: user
rules:
  - name: big
    when: event.n > 1.0
    target: out
  - name: off
    when: event.n > 1.0
    target: later
    enabled: false
` + baseInput
	es := parseErrors(t, src)
	want := []string{
		`job.yaml:7:10: targets[1].key: template "h:{user": offset 2: unclosed '{'`,
		"job.yaml:8:13: targets[1].maxlen: must not be negative",
		"job.yaml:11:10: targets[2].key: {$who}: the special names are {$target}, {$key} and {$id}",
	}
	if es.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", es, strings.Join(want, "\n"))
	}
}

// TestLoadErrorsTimeFormatPosition: a bad time format is placed at the
// format's value, as its path says.
func TestLoadErrorsTimeFormatPosition(t *testing.T) {
	es := parseErrors(t, withBase("input:\n  path: x\n  header: true\n  fields: {a: int, t: {type: time, format: bogus}}\n  time: t\n"))
	if len(es) != 1 || es[0].Line != 4 || es[0].Col != 44 || es[0].Path != "input.fields.t.format" {
		t.Errorf("errors:\n%v\nwant one at 4:44 (the format's value)", es)
	}
}

// TestLoadErrorsLookupWithoutFields: a lookup declaring no field is an
// error placed at its fields, like a window keyed by no field.
func TestLoadErrorsLookupWithoutFields(t *testing.T) {
	es := parseErrors(t, withBase("lookups:\n  - name: d\n    key: c:{user}\n    fields: {}\n"))
	if len(es) != 1 || es[0].Line != 4 || es[0].Col != 13 || es[0].Path != "lookups[0].fields" {
		t.Errorf("errors:\n%v\nwant one at 4:13, lookups[0].fields", es)
	}
}

func TestErrorFormat(t *testing.T) {
	es := Errors{
		{File: "a.yaml", Line: 3, Col: 5, Path: "input.time", Msg: "no field"},
		{File: "a.yaml", Msg: "empty file"},
		{File: "a.yaml", Line: 1, Col: 1, Msg: "missing rules"},
	}
	want := "a.yaml:3:5: input.time: no field\na.yaml: empty file\na.yaml:1:1: missing rules"
	if es.Error() != want {
		t.Errorf("Error() = %q, want %q", es.Error(), want)
	}
	var err error = es
	var one *Error
	if !errors.As(err, &one) || one != es[0] {
		t.Errorf("errors.As does not find the first *Error")
	}

	// Parse's errors unwrap to each *Error.
	_, err = Parse("job.yaml", []byte("name: x\n"), Options{})
	if !errors.As(err, &one) || one.Error() != "job.yaml:1:1: missing input" {
		t.Errorf("errors.As(Parse error) = %v", one)
	}
	var n int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if errors.As(e, &one) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("Unwrap gives %d *Error, want 3", n)
	}
}

// TestLoadFile: Load reads a file, names errors after its path, and a
// missing file is an error wrapping fs.ErrNotExist.
func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "my-job.yaml")
	if err := os.WriteFile(p, []byte(withBase("")), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := Load(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Name != "my-job" || j.File != p || j.Dir() != dir || j.Input.Path != filepath.Join(dir, "plays.csv") {
		t.Errorf("Load: name %q, file %q, dir %q, input %q", j.Name, j.File, j.Dir(), j.Input.Path)
	}
	if err := os.WriteFile(p, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p, Options{})
	var es Errors
	if !errors.As(err, &es) || es[0].File != p || !strings.HasPrefix(err.Error(), p+":1:1: missing input") {
		t.Errorf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.yaml"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing file): %v", err)
	}
}

func TestLoadTooLarge(t *testing.T) {
	src := withBase("description: " + strings.Repeat("x", maxJobSize) + "\n")
	es := parseErrors(t, src)
	if want := "job.yaml: job file larger than 4194304 bytes"; es.Error() != want {
		t.Errorf("errors %v, want %s", es, want)
	}
}

// TestLoadErrorsKafkaHeader: Kafka messages have no header line; a job
// saying so is refused at load, where the error can be placed, not when
// the source is made.
func TestLoadErrorsKafkaHeader(t *testing.T) {
	src := "input:\n  kafka: {brokers: [b:9092], topic: t, group: g}\n  header: true\n  fields: {user: string, t: time, n: float}\n  time: t\n" + baseRules + baseTargets
	es := parseErrors(t, src)
	if len(es) != 1 || es[0].Line != 3 || !strings.HasPrefix(es[0].Path, "input") {
		t.Errorf("errors:\n%v\nwant one on line 3 (header: true)", es)
	}
}

// TestLoadErrorsJSONHeaderPosition: header: given to a JSON input is placed
// at header:, as columns: is at columns:.
func TestLoadErrorsJSONHeaderPosition(t *testing.T) {
	es := parseErrors(t, withBase("input:\n  path: x\n  format: json\n  header: false\n  fields: {a: int, t: time}\n  time: t\n"))
	if len(es) != 1 || es[0].Line != 4 || es[0].Msg != "columns and header are for CSV" {
		t.Errorf("errors:\n%v\nwant one on line 4 (header:)", es)
	}
}

// TestLoadErrorsAllAtOnce: errors in several parts of the file, the rules
// among them, come out of one load.
func TestLoadErrorsAllAtOnce(t *testing.T) {
	src := `input:
  path: x.csv
  columns: [a, t]
  fields: {a: int, t: time}
  time: t
lateness: 5 minutes
windows:
  - name: w
    type: count_within
    key: a
    count: three
    within: 1m
rules:
  - name: r
    window: w
    when: window.cont > 1
    target: out
targets:
  - name: out
    type: stream
    key: q
`
	es := parseErrors(t, src)
	want := []string{
		`job.yaml:6:11: lateness: "5 minutes" is not a duration (e.g. 30s, 5m, 24h, 7d)`,
		`job.yaml:11:12: windows[0].count: want an integer, not "three"`,
		"job.yaml:16:17: rules[r].when: undefined field 'cont'\n | window.cont > 1\n | ......^",
	}
	if es.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", es, strings.Join(want, "\n"))
	}
}
