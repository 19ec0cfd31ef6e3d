package stream

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The seed corpus runs with every go test; run the fuzzers with e.g.
//   go test ./stream -run '^$' -fuzz FuzzColumnsDecoder -fuzztime 30s

func FuzzCSVDecoder(f *testing.F) {
	f.Add("a,b,c\n1,2,3\n", "a")
	f.Add("EventID,CustID\n1,\"x\"\n\"", "CustID")
	f.Fuzz(func(t *testing.T, in, key string) {
		spec := CSVSpec{Types: map[string]Kind{"a": KindInt, "b": KindFloat, "c": KindBool}, KeyFields: []string{key}}
		src := NewReaderSource("fuzz", strings.NewReader(in), NewCSVDecoder(spec), FileConfig{BatchSize: 3})
		drain(t, src)
	})
}

// FuzzFileSource feeds arbitrary bytes through the line reader and a play
// decoder: it must never panic, and every non-blank line is either an event
// or a reject, once.
func FuzzFileSource(f *testing.F) {
	f.Add([]byte("0,48,453,\"2014-10-23 03:26:20\",0,\"72132\"\n\xff\n,,\n"), 5)
	f.Add([]byte("\r\n\r\n1,2"), 1)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 || chunk > 1<<16 {
			chunk = 7
		}
		src := NewReaderSource("fuzz", bytes.NewReader(data), testPlayDecoder(), FileConfig{BatchSize: 4, ChunkSize: chunk, MaxLineSize: 64})
		n := drain(t, src)
		lines := 0
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSuffix(l, []byte("\r"))) > 0 {
				lines++
			}
		}
		if n != lines {
			t.Fatalf("%d records out of %d non-blank lines", n, lines)
		}
	})
}

func drain(t *testing.T, src Source) int {
	n := 0
	for {
		b, err := src.Read(context.Background())
		n += len(b.Events) + len(b.Rejects)
		if err == ErrEndOfInput {
			return n
		}
		if err != nil {
			return n // header errors end the input with an error
		}
	}
}
