package stream

import "unicode/utf8"

func validUTF8(s string) bool { return utf8.ValidString(s) }

// Decoder turns one line of text into an event. The event passed in has
// Fields sized to Schema().Len(); the decoder fills them, and Key and Time.
// Strings in the fields may share the memory of line.
type Decoder interface {
	Schema() *Schema
	Decode(line string, ev *Event) error
}

// HeaderDecoder is implemented by decoders that read a header line first.
type HeaderDecoder interface {
	Decoder
	// Header is called with the first line of the input; it returns the
	// decoder to use for the rest.
	Header(line string) (Decoder, error)
}
