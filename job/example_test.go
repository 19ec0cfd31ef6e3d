package job_test

import (
	"fmt"
	"os"

	"github.com/rulestream/rulestream/job"
)

func ExampleParse() {
	src := []byte(`name: logins
input:
  path: logins.jsonl
  format: json
  fields: {login_id: int, user: string, ok: bool, time: {type: time, format: rfc3339}}
  time: time
  id: login_id
  key: user
windows:
  - name: failures
    type: count_within
    key: user
    where: "!event.ok"
    count: 5
    within: 10m
  - name: hourly
    type: tumbling
    key: user
    size: 1h
rules:
  - name: brute_force
    window: failures
    when: "true"
    target: alerts
targets:
  - name: alerts
    type: stream
    key: security:alerts
`)
	j, err := job.Parse("logins.yaml", src, job.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := j.Plan()
	fmt.Println(p)
	fmt.Println(p.Unused)
	// Output:
	// dedup → [failures] → rules
	// [window hourly: no enabled rule reads it]
}

func ExampleParse_errors() {
	_, err := job.Parse("logins.yaml", []byte(`input:
  path: logins.jsonl
  format: json
  fields: {user: string, ok: bool, time: time}
  time: time
  key: user
lateness: 5 minutes
rules:
  - name: r
    when: event.okk
    target: alert
targets:
  - name: alerts
    type: stream
    key: security:alerts
`), job.Options{})
	fmt.Fprintln(os.Stdout, err)
	// Output:
	// logins.yaml:7:11: lateness: "5 minutes" is not a duration (e.g. 30s, 5m, 24h, 7d)
	// logins.yaml:10:16: rules[r].when: undefined field 'okk'
	//  | event.okk
	//  | .....^
	// logins.yaml:11:13: rules[r].target: unknown target "alert" (declared: alerts)
}
