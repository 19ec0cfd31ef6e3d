package model

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ReadLibSVM reads the demo's features file: one customer per line, in
// customer-id order from 0 (the row index is the CustID), as
// "label 1:morning 2:afternoon 3:evening 4:night 5:mobile 6:unique"; label 1
// (or +1) clicked, 0 (or -1) did not; absent indices are 0. Blank lines are
// skipped and do not take an id.
func ReadLibSVM(r io.Reader, name string) ([]Row, error) {
	var rows []Row
	err := eachLine(r, name, func(line string, n int) error {
		tok := strings.Fields(line)
		if len(tok) == 0 {
			return nil
		}
		row := Row{CustID: int64(len(rows))}
		switch tok[0] {
		case "1", "+1", "1.0":
			row.Label = true
		case "0", "-1", "0.0":
		default:
			return fmt.Errorf("label %q is not 0 or 1", tok[0])
		}
		var set [NumFeatures]bool
		for _, t := range tok[1:] {
			is, vs, ok := strings.Cut(t, ":")
			if !ok {
				return fmt.Errorf("%q is not index:value", t)
			}
			i, err := strconv.Atoi(is)
			if err != nil || i < 1 || i > NumFeatures {
				return fmt.Errorf("index %q is not 1..%d", is, NumFeatures)
			}
			if set[i-1] {
				return fmt.Errorf("index %d given twice", i)
			}
			set[i-1] = true
			v, err := strconv.ParseFloat(vs, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("value %q of index %d is not a finite number", vs, i)
			}
			row.X[i-1] = v
		}
		rows = append(rows, row)
		return nil
	})
	return rows, err
}
