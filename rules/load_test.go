package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rule1 is the YAML of one rule with extra lines appended.
func rule1(extra string) string {
	return "rules:\n  - name: a\n    when: 'true'\n    target: ads\n" + extra
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown CEL field", "rules:\n  - name: a\n    when: customer.levl < 2\n    target: ads\n",
			"r.yaml:3:19: rule \"a\": when: undefined field 'levl'\n | customer.levl < 2\n | ........^"},
		{"CEL syntax error", "rules:\n  - name: a\n    when: customer.level <\n    target: ads\n",
			"r.yaml:3:27: rule \"a\": when: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | customer.level <\n | ................^"},
		{"CEL type error", "rules:\n  - name: a\n    when: 'event.listening_zip_code == 1'\n    target: ads\n",
			"r.yaml:3:37: rule \"a\": when: found no matching overload for '_==_' applied to '(string, int)'\n | event.listening_zip_code == 1\n | .........................^"},
		{"non-bool result", "rules:\n  - name: a\n    when: customer.level + 1\n    target: ads\n",
			"r.yaml:3:11: rule \"a\": when: must return bool, got int"},
		{"duplicate name", rule1("  - name: a\n    when: 'true'\n    target: ads\n"),
			"r.yaml:5:11: rule \"a\": name: duplicate rule name (first declared at line 2)"},
		{"bad duration", rule1("    cooldown: 3x\n"),
			"r.yaml:5:15: rule \"a\": cooldown: \"3x\" is not a duration (e.g. 30m, 24h, 7d)"},
		{"negative duration", rule1("    cooldown: -1h\n"),
			"r.yaml:5:15: rule \"a\": cooldown: \"-1h\" is not a duration (e.g. 30m, 24h, 7d)"},
		{"missing target", "rules:\n  - name: a\n    when: 'true'\n",
			"r.yaml:2:5: rule \"a\": target: missing target"},
		{"missing when", "rules:\n  - name: a\n    target: ads\n",
			"r.yaml:2:5: rule \"a\": when: missing when"},
		{"missing name", "rules:\n  - when: 'true'\n    target: ads\n",
			"r.yaml:2:5: name: missing name"},
		{"bad name", "rules:\n  - name: a b\n    when: 'true'\n    target: ads\n",
			"r.yaml:2:11: rule \"a b\": name: name \"a b\": use letters, digits, '_' and '-'"},
		{"unknown rule field", "rules:\n  - name: a\n    wen: 'true'\n    target: x\n",
			"r.yaml:3:5: rule \"a\": unknown field \"wen\" (want name, when, target, payload, cooldown, window, enabled, description)"},
		{"unknown set field", "rulez: []\n",
			"r.yaml:1:1: unknown field \"rulez\" (want version, description, rules)"},
		{"repeated field", rule1("    target: sms\n"),
			"r.yaml:5:5: rule \"a\": field \"target\" given twice"},
		{"payload not a map", rule1("    payload: '[1]'\n"),
			"r.yaml:5:14: rule \"a\": payload: must be a map literal with string keys, e.g. {\"offer_id\": \"gold\"}"},
		{"payload field type", rule1("    payload: '{\"x\": [1]}'\n"),
			"r.yaml:5:14: rule \"a\": payload: field \"x\" has type list(int); want int, double, string, bool or timestamp"},
		{"payload CEL error", rule1("    payload: '{\"x\": customer.nam}'\n"),
			"r.yaml:5:29: rule \"a\": payload: undefined field 'nam'\n | {\"x\": customer.nam}\n | ..............^"},
		{"window without window name", "rules:\n  - name: a\n    when: window.count > 2\n    target: ads\n",
			"r.yaml:3:11: rule \"a\": when: reads window but the rule has no window: name"},
		{"bad enabled", rule1("    enabled: maybe\n"),
			"r.yaml:5:14: rule \"a\": enabled: want true or false"},
		{"when not a string", "rules:\n  - name: a\n    when: [1]\n    target: ads\n",
			"r.yaml:3:11: rule \"a\": when: want a string"},
		{"rules not a list", "rules: {}\n", "r.yaml:1:8: rules: want a list of rules"},
		{"rule not a mapping", "rules:\n  - x\n", "r.yaml:2:5: want a rule: a mapping with name, when and target"},
		{"no rules", "version: x\n", "r.yaml:1:1: missing rules: list"},
		{"yaml syntax", "rules: [\n", "r.yaml: yaml: line 1: did not find expected node content"},
		{"empty", "", "r.yaml: empty file: want a mapping with a rules: list"},
		{"two errors sorted", "rules:\n  - name: a\n    when: 'true'\n  - name: b\n    when: '1'\n    target: x\n",
			"r.yaml:2:5: rule \"a\": target: missing target\nr.yaml:5:11: rule \"b\": when: must return bool, got int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := testEnv().Load("r.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("loaded %v, want error", set.Rules())
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n got: %q\nwant: %q", err.Error(), tc.want)
			}
			var le *LoadError
			if !errors.As(err, &le) || le.File != "r.yaml" {
				t.Fatalf("want a *LoadError naming the file, got %T", err)
			}
		})
	}
}

func TestNewRuleSetErrors(t *testing.T) {
	_, err := testEnv().NewRuleSet("", Rule{Name: "x", When: "customer.level", Target: "ads"}, Rule{Name: "x", When: "true"})
	want := "rule \"x\": when: must return bool, got int\nrule \"x\": name: duplicate rule name (first declared as rule 1)\nrule \"x\": target: missing target"
	if err == nil || err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
}

func TestLoadDemo(t *testing.T) {
	set, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	if set.Version() != "demo-1" {
		t.Errorf("version %q", set.Version())
	}
	rs := set.Rules()
	if len(rs) != 3 || rs[0].Name != "interest" || rs[1].Name != "upgrade_ad" || rs[2].Name != "sms_offer" {
		t.Fatalf("rules %+v", rs)
	}
	if rs[0].Window != "repeats" || rs[0].Target != "interest" || rs[1].Cooldown != 24*time.Hour || rs[2].Target != "sms" {
		t.Fatalf("rules %+v", rs)
	}
}

func TestLoadFileVersionAndDisabled(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "rules.yaml")
	body := "rules:\n  - name: a\n    when: 'true'\n    target: t\n    enabled: false\n    cooldown: 7d\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := testEnv().LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.rules) != 0 || len(set.Rules()) != 1 || !set.Rules()[0].Disabled || set.Rules()[0].Cooldown != 7*24*time.Hour {
		t.Fatalf("disabled rule compiled: %+v", set.Rules())
	}
	if len(set.Version()) != 12 || set.Source() != p {
		t.Fatalf("version %q source %q: want a 12-hex content hash", set.Version(), set.Source())
	}
	other, _ := testEnv().Load(p, []byte(body+"\n"))
	if other.Version() == set.Version() {
		t.Fatal("different content, same version")
	}
	if _, err := testEnv().LoadFile(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	demo, err := os.ReadFile("testdata/demo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add([]byte(rule1("    payload: '{\"x\": customer.name}'\n    cooldown: 1h\n")))
	f.Add([]byte("rules:\n  - name: w\n    window: repeats\n    when: window.count >= 3\n    target: interest\n"))
	f.Add([]byte("rules: [{name: a, when: 'true', target: x}, {name: a}]\n"))
	f.Add([]byte("version: 1\nrules:\n  - &a {name: a, when: 'true', target: x}\n  - *a\n"))
	f.Add([]byte("rules:\n  - name: a\n    when: '[1,2].all(x, x > 0)'\n    target: t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := testEnv().Load("f.yaml", data)
		if err != nil {
			if set != nil {
				t.Fatal("set and error")
			}
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if set.Version() == "" {
			t.Fatal("no version")
		}
		again, err := testEnv().Load("f.yaml", data)
		if err != nil || again.Version() != set.Version() || len(again.rules) != len(set.rules) {
			t.Fatalf("not deterministic: %v", err)
		}
	})
}
