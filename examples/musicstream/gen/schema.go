package gen

import "github.com/rulestream/rulestream/stream"

// The demo's schemas: a play event, and the customer and track records
// that enrichment joins onto it.
var (
	// PlaySchema is the demo's play event:
	// event_id,customer_id,track_id,"datetime",ismobile,"listening_zip_code".
	PlaySchema = stream.MustSchema("play",
		stream.Field{Name: "event_id", Kind: stream.KindInt},
		stream.Field{Name: "customer_id", Kind: stream.KindInt},
		stream.Field{Name: "track_id", Kind: stream.KindInt},
		stream.Field{Name: "datetime", Kind: stream.KindTime},
		stream.Field{Name: "ismobile", Kind: stream.KindBool},
		stream.Field{Name: "listening_zip_code", Kind: stream.KindString},
	)
	// CustomerSchema is the record joined as "customer": a hash
	// customer:<id> loaded from cust.csv. pred_event (the ad-response
	// model's prediction, 0/1), ad_features (the model's features of the
	// customer) and age_band are present only when written.
	CustomerSchema = stream.MustSchema("customer",
		stream.Field{Name: "id", Kind: stream.KindInt},
		stream.Field{Name: "name", Kind: stream.KindString},
		stream.Field{Name: "gender", Kind: stream.KindInt},
		stream.Field{Name: "address", Kind: stream.KindString},
		stream.Field{Name: "zip", Kind: stream.KindString},
		stream.Field{Name: "sign_date", Kind: stream.KindString},
		stream.Field{Name: "status", Kind: stream.KindInt},
		stream.Field{Name: "level", Kind: stream.KindInt},
		stream.Field{Name: "campaign", Kind: stream.KindInt},
		stream.Field{Name: "linked_with_apps", Kind: stream.KindInt},
		stream.Field{Name: "pred_event", Kind: stream.KindInt},
		stream.Field{Name: "age_band", Kind: stream.KindString},
		stream.Field{Name: "ad_features", Kind: stream.KindString},
	)
	// TrackSchema is the record joined as "track": a hash track:<id>
	// loaded from music.csv.
	TrackSchema = stream.MustSchema("track",
		stream.Field{Name: "id", Kind: stream.KindInt},
		stream.Field{Name: "title", Kind: stream.KindString},
		stream.Field{Name: "artist", Kind: stream.KindString},
		stream.Field{Name: "length", Kind: stream.KindInt},
	)
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
