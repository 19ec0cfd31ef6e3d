package gen

import "github.com/rulestream/rulestream/stream"

// The demo's schemas: a play event, and the customer and track records
// that enrichment joins onto it.
var (
	// PlaySchema is the demo's play event:
	// event_id,customer_id,track_id,"datetime",ismobile,"listening_zip_code".
	PlaySchema = stream.PlaySchema
	// CustomerSchema is the record joined as "customer" (customer:<id>).
	CustomerSchema = stream.CustomerSchema
	// TrackSchema is the record joined as "track" (track:<id>).
	TrackSchema = stream.TrackSchema
)

// Positions of the play fields in PlaySchema.
const (
	PlayEventID = iota
	PlayCustomerID
	PlayTrackID
	PlayDateTime
	PlayIsMobile
	PlayZip
)
