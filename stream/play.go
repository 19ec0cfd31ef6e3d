package stream

// PlaySchema is the demo's play event:
// event_id,customer_id,track_id,"datetime",ismobile,"listening_zip_code".
// The demo's decoder is gen.PlayDecoder (examples/musicstream/gen).
var PlaySchema = MustSchema("play",
	Field{Name: "event_id", Kind: KindInt},
	Field{Name: "customer_id", Kind: KindInt},
	Field{Name: "track_id", Kind: KindInt},
	Field{Name: "datetime", Kind: KindTime},
	Field{Name: "ismobile", Kind: KindBool},
	Field{Name: "listening_zip_code", Kind: KindString},
)
