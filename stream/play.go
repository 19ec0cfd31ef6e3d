package stream

import (
	"errors"
	"fmt"
	"strconv"
)

// PlaySchema is the demo's play event:
// event_id,customer_id,track_id,"datetime",ismobile,"listening_zip_code".
var PlaySchema = MustSchema("play",
	Field{Name: "event_id", Kind: KindInt},
	Field{Name: "customer_id", Kind: KindInt},
	Field{Name: "track_id", Kind: KindInt},
	Field{Name: "datetime", Kind: KindTime},
	Field{Name: "ismobile", Kind: KindBool},
	Field{Name: "listening_zip_code", Kind: KindString},
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

// PlayDecoder decodes the demo's positional play lines (no header). The key
// is customer_id; the event time is datetime, read as UTC.
type PlayDecoder struct{}

// Schema returns PlaySchema.
func (PlayDecoder) Schema() *Schema { return PlaySchema }

var errPlayColumns = errors.New("want 6 columns: event_id,customer_id,track_id,datetime,ismobile,listening_zip_code")

// Decode implements Decoder.
func (PlayDecoder) Decode(line string, ev *Event) error {
	var buf [8]string
	cols, err := splitCSV(line, buf[:0])
	if err != nil {
		return err
	}
	if len(cols) != 6 {
		return fmt.Errorf("%d columns: %w", len(cols), errPlayColumns)
	}
	f := ev.Fields
	names := [3]string{"event_id", "customer_id", "track_id"}
	for i := 0; i < 3; i++ {
		n, ok := parseInt(cols[i])
		if !ok || n < 0 {
			return fmt.Errorf("%s %s is not a non-negative integer", names[i], quoteRaw([]byte(cols[i])))
		}
		f[i] = Int(n)
	}
	sec, ok := parseDateTimeSec(cols[3])
	ts := sec * 1e9
	if !ok {
		return fmt.Errorf("datetime %s is not a valid YYYY-MM-DD hh:mm:ss", quoteRaw([]byte(cols[3])))
	}
	f[PlayDateTime] = TimeNanos(ts)
	switch cols[4] {
	case "1":
		f[PlayIsMobile] = Bool(true)
	case "0":
		f[PlayIsMobile] = Bool(false)
	default:
		return fmt.Errorf("ismobile %s is not 0 or 1", quoteRaw([]byte(cols[4])))
	}
	f[PlayZip] = String(cols[5])
	// The key is the canonical decimal of the customer id, so that "007"
	// and "7" are one customer (no allocation when the text is canonical).
	if c := cols[1]; c == "0" || (c[0] >= '1' && c[0] <= '9') {
		ev.Key = c
	} else {
		ev.Key = strconv.FormatInt(f[PlayCustomerID].Int(), 10)
	}
	ev.Time = ts
	ev.Schema = PlaySchema
	return nil
}
