package gen

import "github.com/rulestream/rulestream/stream"

// playColumns are the columns of the demo's positional play lines
// (tracks.csv, no header), in order.
var playColumns = []string{"event_id", "customer_id", "track_id", "datetime", "ismobile", "listening_zip_code"}

// PlayDecoder returns the decoder of the demo's positional play lines
// (tracks.csv, no header):
// event_id,customer_id,track_id,"datetime",ismobile,"listening_zip_code",
// into events of PlaySchema. The event time is datetime (UTC); the key is
// customer_id in canonical decimal, so "007" and "7" are one customer;
// ismobile is 1 or 0.
func PlayDecoder() stream.Decoder {
	d, err := stream.NewColumnsDecoder(stream.RecordSpec{
		Schema:    PlaySchema,
		TimeField: "datetime",
		KeyFields: []string{"customer_id"},
	}, playColumns)
	if err != nil {
		panic(err) // the spec is a literal: a test covers it
	}
	return d
}
