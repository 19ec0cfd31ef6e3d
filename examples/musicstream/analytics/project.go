package analytics

import (
	"github.com/rulestream/rulestream/stream"
)

// Schema is what the windows see: one play reduced to the dimensions the
// analytics group by. Level and gender are "unknown" when the customer was
// not found; age_band is null then, or when the record has none.
var Schema = stream.MustSchema("analytics_play",
	stream.Field{Name: "all", Kind: stream.KindString},
	stream.Field{Name: "customer_id", Kind: stream.KindInt},
	stream.Field{Name: "track_id", Kind: stream.KindInt},
	stream.Field{Name: "mobile", Kind: stream.KindInt},
	stream.Field{Name: "zip", Kind: stream.KindString},
	stream.Field{Name: "level", Kind: stream.KindString},
	stream.Field{Name: "gender", Kind: stream.KindString},
	stream.Field{Name: "age_band", Kind: stream.KindString},
)

const (
	fAll = iota
	fCustomer
	fTrack
	fMobile
	fZip
	fLevel
	fGender
	fAge
	nFields
)

// unknown is the level or gender of a play whose customer was not found.
const unknown = "unknown"

// Small ints as interned strings, so that projecting allocates no text.
var smallInts = func() [8]stream.Value {
	var v [8]stream.Value
	for i := range v {
		v[i] = stream.String(string(rune('0' + i)))
	}
	return v
}()

func intText(v stream.Value) stream.Value {
	if v.IsNull() {
		return stream.String(unknown)
	}
	if n := v.Int(); n >= 0 && n < int64(len(smallInts)) && v.Kind() == stream.KindInt {
		return smallInts[n]
	}
	return stream.String(v.Text())
}

// projector turns enriched plays into events of Schema, resolving the
// play's field positions once per schema.
type projector struct {
	schema                   *stream.Schema
	cust, track, mobile, zip int
	fields                   []stream.Value // this batch's field memory
	out                      []stream.Event

	recSchema           *stream.Schema // the customer record's schema, and its field positions
	level, gender, band int
}

// recField returns field i of a record, null when out of range.
func recField(r *stream.Record, i int) stream.Value {
	if i >= 0 && i < len(r.Values) {
		return r.Values[i]
	}
	return stream.Value{}
}

func (p *projector) resolve(s *stream.Schema) {
	p.schema = s
	p.cust, p.track = s.Index("customer_id"), s.Index("track_id")
	p.mobile, p.zip = s.Index("ismobile"), s.Index("listening_zip_code")
}

func field(ev *stream.Event, i int) stream.Value {
	if i >= 0 && i < len(ev.Fields) {
		return ev.Fields[i]
	}
	return stream.Value{}
}

// project returns the batch as analytics events. Events without a schema
// are skipped. The events and their field memory are reused by the next
// call: the tumbling windows keep aggregates, never events.
func (p *projector) project(in []stream.Event) []stream.Event {
	p.out = p.out[:0]
	if cap(p.fields) < len(in)*nFields {
		p.fields = make([]stream.Value, len(in)*nFields)
	}
	p.fields = p.fields[:len(in)*nFields]
	clear(p.fields)
	for i := range in {
		ev := &in[i]
		if ev.Schema == nil {
			continue
		}
		if ev.Schema != p.schema {
			p.resolve(ev.Schema)
		}
		f := p.fields[len(p.out)*nFields : (len(p.out)+1)*nFields : (len(p.out)+1)*nFields]
		f[fAll] = stream.String("")
		f[fCustomer] = field(ev, p.cust)
		f[fTrack] = field(ev, p.track)
		if field(ev, p.mobile).Bool() {
			f[fMobile] = stream.Int(1)
		} else {
			f[fMobile] = stream.Int(0)
		}
		f[fZip] = field(ev, p.zip)
		cust, _ := ev.Joined("customer")
		if cust == nil {
			f[fLevel], f[fGender] = stream.String(unknown), stream.String(unknown)
		} else {
			if cust.Schema != p.recSchema {
				p.recSchema = cust.Schema
				p.level, p.gender, p.band = -1, -1, -1
				if cust.Schema != nil {
					p.level, p.gender, p.band = cust.Schema.Index("level"), cust.Schema.Index("gender"), cust.Schema.Index("age_band")
				}
			}
			f[fLevel], f[fGender] = intText(recField(cust, p.level)), intText(recField(cust, p.gender))
			if age := recField(cust, p.band); !age.IsNull() && age.Text() != "" {
				f[fAge] = stream.String(age.Text())
			}
		}
		p.out = append(p.out, stream.Event{Key: ev.Key, Time: ev.Time, Pos: ev.Pos, Schema: Schema, Fields: f})
	}
	return p.out
}
