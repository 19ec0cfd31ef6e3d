package kafka

import (
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/stream"
)

// decodeMessages decodes messages of one partition into a batch: events in
// offset order, and a Reject (with topic/partition/offset and the raw bytes)
// for each malformed value.
func decodeMessages(dec stream.Decoder, msgs []*sarama.ConsumerMessage) stream.Batch {
	var b stream.Batch
	if len(msgs) == 0 {
		return b
	}
	schema := dec.Schema()
	nf := schema.Len()
	b.Events = make([]stream.Event, 0, len(msgs))
	vals := make([]stream.Value, nf*len(msgs))
	// The batch's values are copied into one buffer that decoded strings
	// share: a string kept by an operator pins this batch's text only, not
	// sarama's whole fetch response.
	size := 0
	for _, m := range msgs {
		size += len(m.Value)
	}
	text := make([]byte, 0, size)
	for _, m := range msgs {
		pos := stream.Position{Source: m.Topic, Partition: m.Partition, Offset: m.Offset}
		at := len(text)
		text = append(text, m.Value...)
		line, why := messageText(text[at:])
		if why != "" {
			b.Rejects = append(b.Rejects, stream.Reject{Pos: pos, Reason: why, Raw: m.Value})
			continue
		}
		b.Events = append(b.Events, stream.Event{Pos: pos, Schema: schema, Fields: vals[:nf:nf]})
		ev := &b.Events[len(b.Events)-1]
		if err := decodeSafe(dec, line, ev); err != nil {
			b.Events = b.Events[:len(b.Events)-1]
			clear(vals[:nf])
			b.Rejects = append(b.Rejects, stream.Reject{Pos: pos, Reason: err.Error(), Raw: m.Value})
			continue
		}
		vals = vals[nf:]
	}
	return b
}

// decodeSafe calls the decoder, turning a panic in it into an error.
func decodeSafe(dec stream.Decoder, line string, ev *stream.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r}
		}
	}()
	return dec.Decode(line, ev)
}

type panicError struct{ value any }

func (e *panicError) Error() string {
	if err, ok := e.value.(error); ok {
		return "decoder panic: " + err.Error()
	}
	if s, ok := e.value.(string); ok {
		return "decoder panic: " + s
	}
	return "decoder panic"
}

// messageText returns the message value as a line (without a trailing
// newline), or why it is not one. The string shares v's bytes, which must
// never change afterwards.
func messageText(v []byte) (string, string) {
	for n := len(v); n > 0 && (v[n-1] == '\n' || v[n-1] == '\r'); n = len(v) {
		v = v[:n-1]
	}
	if len(v) == 0 {
		return "", "empty message"
	}
	ascii := true
	for i, c := range v {
		if c >= 0x80 {
			ascii = false
		} else if c < 0x20 && c != '\t' || c == 0x7f {
			return "", "binary data (control byte " + strconv.Itoa(int(c)) + " at byte " + strconv.Itoa(i) + ") in message"
		}
	}
	if !ascii && !utf8.Valid(v) {
		return "", "invalid UTF-8 in message"
	}
	return unsafe.String(unsafe.SliceData(v), len(v)), ""
}
