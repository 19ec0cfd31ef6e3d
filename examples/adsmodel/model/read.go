package model

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// maxLine bounds an input line.
const maxLine = 1 << 20

// eachLine calls fn with every line of r (without its line end) and its
// number from 1; errors name the input and the line.
func eachLine(r io.Reader, name string, fn func(line string, n int) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(strings.TrimSuffix(sc.Text(), "\r"), n); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", name, n+1, err)
	}
	return nil
}

// ReadPlays calls add with each play of a CSV in the demo's positional
// schema (no header; see gen.PlayDecoder), for example Builder.AddPlay.
// Blank lines are skipped; a bad line is an error naming the input and its
// line. It returns the plays read.
func ReadPlays(r io.Reader, name string, add func(gen.Play)) (int, error) {
	dec := gen.PlayDecoder()
	ev := stream.Event{Fields: make([]stream.Value, gen.PlaySchema.Len())}
	lines := 0
	err := eachLine(r, name, func(line string, n int) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		if err := dec.Decode(line, &ev); err != nil {
			return err
		}
		lines++
		f := ev.Fields
		add(gen.Play{EventID: f[gen.PlayEventID].Int(), CustomerID: f[gen.PlayCustomerID].Int(), TrackID: f[gen.PlayTrackID].Int(),
			Time: f[gen.PlayDateTime].Time(), Mobile: f[gen.PlayIsMobile].Bool(), Zip: f[gen.PlayZip].Str()})
		return nil
	})
	return lines, err
}
