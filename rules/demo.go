package rules

import _ "embed"

// DemoYAML is the rule set of the music-stream example: interest,
// upgrade_ad and sms_offer.
//
//go:embed demo.yaml
var DemoYAML []byte

// LoadDemo compiles DemoYAML in the default environment.
func LoadDemo() (*RuleSet, error) { return DefaultEnv().Load("demo.yaml", DemoYAML) }
