package gen

import (
	"strconv"

	"github.com/rulestream/rulestream/stream"
)

// PlayEvents converts plays to events of PlaySchema, as the play
// decoder would produce them (position: name:line, starting at 1). Field
// memory is allocated in one block.
func PlayEvents(name string, plays []Play) []stream.Event {
	n := PlaySchema.Len()
	vals := make([]stream.Value, n*len(plays))
	evs := make([]stream.Event, len(plays))
	for i, p := range plays {
		f := vals[i*n : (i+1)*n : (i+1)*n]
		f[PlayEventID] = stream.Int(p.EventID)
		f[PlayCustomerID] = stream.Int(p.CustomerID)
		f[PlayTrackID] = stream.Int(p.TrackID)
		f[PlayDateTime] = stream.TimeNanos(p.Time.UnixNano())
		f[PlayIsMobile] = stream.Bool(p.Mobile)
		f[PlayZip] = stream.String(p.Zip)
		evs[i] = stream.Event{
			Key: strconv.FormatInt(p.CustomerID, 10), Time: p.Time.UnixNano(),
			Pos:    stream.Position{Source: name, Partition: -1, Offset: int64(i + 1), Line: true},
			Schema: PlaySchema, Fields: f,
		}
	}
	return evs
}
