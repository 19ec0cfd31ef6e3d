package stream

// CustomerSchema is the record enrichment joins as "customer": a hash
// customer:<id> written by the loader from cust.csv. pred_event (the
// ad-response model's prediction, 0/1), ad_features (the model's features
// of the customer) and age_band are present only when written.
var CustomerSchema = MustSchema("customer",
	Field{Name: "id", Kind: KindInt},
	Field{Name: "name", Kind: KindString},
	Field{Name: "gender", Kind: KindInt},
	Field{Name: "address", Kind: KindString},
	Field{Name: "zip", Kind: KindString},
	Field{Name: "sign_date", Kind: KindString},
	Field{Name: "status", Kind: KindInt},
	Field{Name: "level", Kind: KindInt},
	Field{Name: "campaign", Kind: KindInt},
	Field{Name: "linked_with_apps", Kind: KindInt},
	Field{Name: "pred_event", Kind: KindInt},
	Field{Name: "age_band", Kind: KindString},
	Field{Name: "ad_features", Kind: KindString},
)

// TrackSchema is the record enrichment joins as "track": a hash track:<id>
// written by the loader from music.csv.
var TrackSchema = MustSchema("track",
	Field{Name: "id", Kind: KindInt},
	Field{Name: "title", Kind: KindString},
	Field{Name: "artist", Kind: KindString},
	Field{Name: "length", Kind: KindInt},
)
