package stream_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rulestream/rulestream/stream"
)

var orders = stream.MustSchema("order",
	stream.Field{Name: "id", Kind: stream.KindInt},
	stream.Field{Name: "customer", Kind: stream.KindString},
	stream.Field{Name: "amount", Kind: stream.KindFloat},
	stream.Field{Name: "at", Kind: stream.KindTime},
)

var orderSpec = stream.RecordSpec{
	Schema:      orders,
	TimeField:   "at",
	TimeFormats: map[string]stream.TimeFormat{"at": stream.MustParseTimeFormat("unix_ms")},
	KeyFields:   []string{"customer"},
}

// printAll reads src to the end and prints its events and rejects.
func printAll(src stream.Source) {
	for {
		b, err := src.Read(context.Background())
		for _, ev := range b.Events {
			fmt.Println(ev.Pos, ev.Key, ev.EventTime().Format("2006-01-02T15:04:05.000"), ev.Get("id"), ev.Get("amount"))
		}
		for _, r := range b.Rejects {
			fmt.Printf("%s rejected: %s\n", r.Pos, r.Reason)
		}
		if err != nil {
			return
		}
	}
}

// Positional CSV: the third column is skipped.
func ExampleNewColumnsDecoder() {
	dec, err := stream.NewColumnsDecoder(orderSpec, []string{"id", "customer", "_", "amount", "at"})
	if err != nil {
		panic(err)
	}
	in := `1,ann,web,9.5,1412157600000
2,bob,shop,12,1412157601500
3,,web,1,1412157602000
4,ann,web,1,253402214400000
`
	printAll(stream.NewReaderSource("orders.csv", strings.NewReader(in), dec, stream.FileConfig{}))
	// Output:
	// orders.csv:1 ann 2014-10-01T10:00:00.000 1 9.5
	// orders.csv:2 bob 2014-10-01T10:00:01.500 2 12
	// orders.csv:3 rejected: key field customer is empty
	// orders.csv:4 rejected: field at: "253402214400000" is outside the representable time range (1678-01-01 to 2262-04-11)
}

// CSV with a header: columns are found by name, in any order; columns the
// schema does not declare are skipped.
func ExampleNewHeaderCSVDecoder() {
	dec, err := stream.NewHeaderCSVDecoder(orderSpec, stream.CSVConfig{})
	if err != nil {
		panic(err)
	}
	fmt.Println("schema before the header:", dec.Schema().Name())
	in := `at,channel,customer,id,amount
1412157600000,web,ann,1,9.5
1412157601500,shop,bob,x,12
`
	printAll(stream.NewReaderSource("orders.csv", strings.NewReader(in), dec, stream.FileConfig{}))
	// Output:
	// schema before the header: order
	// orders.csv:2 ann 2014-10-01T10:00:00.000 1 9.5
	// orders.csv:3 rejected: field id: "x" is not an integer
}

// JSON lines: keys map to fields by name; undeclared keys are skipped; a
// missing field is null.
func ExampleNewJSONDecoder() {
	dec, err := stream.NewJSONDecoder(orderSpec, stream.JSONConfig{})
	if err != nil {
		panic(err)
	}
	in := `{"id":1,"customer":"ann","amount":9.5,"at":1412157600000,"items":[{"sku":"a"}]}
{"at":"1412157601500","customer":"bob","id":2}
{"id":3,"customer":"cy","amount":"1","at":1412157602000}
{"id":4,"customer":"dee","at":1412157602000
`
	printAll(stream.NewReaderSource("orders.jsonl", strings.NewReader(in), dec, stream.FileConfig{}))
	// Output:
	// orders.jsonl:1 ann 2014-10-01T10:00:00.000 1 9.5
	// orders.jsonl:2 bob 2014-10-01T10:00:01.500 2 null
	// orders.jsonl:3 rejected: field amount: want a float, got a string
	// orders.jsonl:4 rejected: JSON ends early: want ',' or '}'
}

func ExampleParseTimeFormat() {
	for _, c := range []struct{ format, text string }{
		{"datetime", "2014-10-01 10:00:00"},
		{"datetime", "2014-10-01T12:00:00.25+02:00"},
		{"unix", "1412157600.5"},
		{"02/01/2006 15h04", "01/10/2014 10h00"},
		{"datetime", "9999-12-31 00:00:00"},
	} {
		f, err := stream.ParseTimeFormat(c.format)
		if err != nil {
			panic(err)
		}
		ns, err := f.Parse(c.text)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(stream.TimeNanos(ns))
	}
	// Output:
	// 2014-10-01T10:00:00Z
	// 2014-10-01T10:00:00.25Z
	// 2014-10-01T10:00:00.5Z
	// 2014-10-01T10:00:00Z
	// "9999-12-31 00:00:00" is outside the representable time range (1678-01-01 to 2262-04-11)
}
