package stream

import (
	"strconv"
	"unicode/utf8"
)

// DeadLetterSchema is the schema of dead-letter events: where the record came
// from, why it was rejected, and its raw bytes.
var DeadLetterSchema = MustSchema("deadletter",
	Field{Name: "source", Kind: KindString},
	Field{Name: "position", Kind: KindString},
	Field{Name: "reason", Kind: KindString},
	Field{Name: "raw", Kind: KindString},
)

// DeadLetterEvent turns a rejected record into an event of DeadLetterSchema.
// Its ID is "deadletter:<position>:<fingerprint of the raw bytes and
// reason>": a replay of the same record writes it once to an idempotent
// sink, and another record read at the same position (a file replaced
// under the same name, stdin of another run) is not taken for it.
func DeadLetterEvent(r Reject) Event {
	pos := r.Pos.String()
	ev := Event{
		Key:    r.Pos.Source,
		Pos:    r.Pos,
		Schema: DeadLetterSchema,
		Fields: []Value{String(r.Pos.Source), String(pos), String(r.Reason), String(string(r.Raw))},
		Target: "deadletter",
	}
	ev.ID = string(ev.AppendFingerprint([]byte("deadletter:" + pos + ":")))
	return ev
}

// EventReject is the Reject of a decoded event that an operator refuses
// (a window for its time or a null key, a lookup for an unknown id): its
// position, the reason, and as Raw the text of its fields joined by commas,
// since the event no longer holds the bytes it was read from.
func EventReject(ev *Event, reason string) Reject {
	var raw []byte
	for i, v := range ev.Fields {
		if i > 0 {
			raw = append(raw, ',')
		}
		raw = v.AppendText(raw)
	}
	return Reject{Pos: ev.Pos, Reason: reason, Raw: raw}
}

// DecodeError is an error of a decoder, naming the input, the position and
// the reason.
type DecodeError struct {
	Pos    Position
	Reason string
}

func (e *DecodeError) Error() string { return e.Pos.String() + ": " + e.Reason }

// quoteText quotes s for an error message, shortened to 80 bytes.
func quoteText(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	return strconv.Quote(s)
}

// quoteRaw shortens raw bytes for an error message.
func quoteRaw(raw []byte) string {
	const max = 80
	if len(raw) > max {
		raw = raw[:max]
	}
	if utf8.Valid(raw) {
		return strconv.Quote(string(raw))
	}
	return strconv.QuoteToASCII(string(raw))
}
