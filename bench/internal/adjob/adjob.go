// Package adjob is the ad job as a user writes it, for the benchmarks that
// run cmd/rulestream on it: the plays, the customer lookup, upgrade_ad
// without cooldown, XADD queue:ads.
package adjob

import (
	"fmt"
	"strings"
)

const yaml = `name: adjob
version: adjob-1
input:
  path: %s
  columns: [event_id, customer_id, track_id, datetime, ismobile, listening_zip_code]
  fields:
    event_id: int
    customer_id: int
    track_id: int
    datetime: time
    ismobile: bool
    listening_zip_code: string
  time: datetime
  id: event_id
  key: customer_id
lateness: %s
lookups:
  - name: customer
    key: customer:{customer_id}
    fields: {id: int, name: string, gender: int, address: string, zip: string, sign_date: string, status: int, level: int,
             campaign: int, linked_with_apps: int, pred_event: int, age_band: string, ad_features: string}
%srules:
  - name: upgrade_ad
    description: a play by an active customer below Gold
    when: customer.level < 2 && customer.status == 1
    target: ads
targets:
  - name: ads
    type: stream
    key: queue:ads
    fields: [customer_id, track_id, event_id]
`

// YAML returns the job file reading plays with lateness (a duration, "5m");
// customers, when not empty, is a CSV of customer hashes the job loads
// before it starts (else they are in Redis already).
func YAML(plays, lateness, customers string) string {
	load := ""
	if customers != "" {
		load = fmt.Sprintf("    load: {file: %s, key: \"customer:{id}\"}\n", customers)
	}
	return strings.TrimLeft(fmt.Sprintf(yaml, plays, lateness, load), "\n")
}
