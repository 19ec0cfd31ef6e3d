package enrich

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// loader reads one reference file line by line and hands batches of rows to
// a writer.
type loader struct {
	cfg  LoadConfig
	t    Table
	lay  *layout // set by the header
	sum  *Summary
	ncol int // columns in the header
	cols []string
	vals []string // scratch: batch.add copies the values
	key  []byte   // scratch
}

func load(ctx context.Context, client redis.UniversalClient, t Table, r io.Reader, cfg LoadConfig) (Summary, error) {
	cfg.setDefaults()
	sum := Summary{Table: t.Name, Input: cfg.Input}
	if err := t.Validate(); err != nil {
		return sum, err
	}
	start := cfg.Clock.Now()
	l := &loader{cfg: cfg, t: t, sum: &sum}
	prog := newProgress(cfg, t.Name, r)
	w := newWriter(ctx, client, cfg.InFlight)
	err := l.run(ctx, bufio.NewReaderSize(r, 1<<16), w, prog)
	loaded, werr := w.close()
	sum.Loaded = loaded
	sum.Duration = cfg.Clock.Now().Sub(start)
	prog.finish(sum)
	if err = errors.Join(err, werr); err != nil {
		return sum, fmt.Errorf("enrich: load %s from %s: %w", t.Name, cfg.Input, err)
	}
	cfg.Logger.Info("enrich: loaded", "table", t.Name, "input", cfg.Input, "loaded", sum.Loaded,
		"skipped", sum.Skipped, "recovered", sum.Recovered, "seconds", sum.Duration.Seconds())
	return sum, nil
}

func (l *loader) run(ctx context.Context, br *bufio.Reader, w *writer, prog *progress) error {
	var lineNo int64
	b := w.newBatch(l.cfg.BatchSize)
	for {
		raw, err := readLine(br, l.cfg.MaxLineSize)
		if len(raw) > 0 || err == nil || errors.Is(err, errLineTooLong) {
			lineNo++
			prog.add(int64(len(raw)) + 1)
			switch {
			case errors.Is(err, errLineTooLong):
				l.report(lineNo, fmt.Sprintf("line longer than %d bytes", l.cfg.MaxLineSize), "", false)
			case lineNo == 1:
				if herr := l.header(string(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")))); herr != nil {
					return fmt.Errorf("%s:1: %w", l.cfg.Input, herr)
				}
			case len(bytes.TrimSpace(raw)) == 0:
				// blank lines carry no row
			default:
				if l.row(lineNo, string(raw), b) && len(b.cmds) >= l.cfg.BatchSize {
					if werr := w.send(b); werr != nil {
						return werr
					}
					b = w.newBatch(l.cfg.BatchSize)
					prog.tick(w.loaded.Load())
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return fmt.Errorf("%s:%d: %w", l.cfg.Input, lineNo+1, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if lineNo == 0 {
		return fmt.Errorf("%s: empty input: %w", l.cfg.Input, ErrHeader)
	}
	return w.send(b)
}

// header matches the table to the file's header line.
func (l *loader) header(line string) error {
	cols, err := SplitRow(strings.TrimRight(line, "\r"), nil)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	l.ncol = len(cols)
	l.lay, err = newLayout(l.t, cols)
	return err
}

// row parses one data line and adds it to b; false if it was skipped.
func (l *loader) row(lineNo int64, line string, b *batch) bool {
	if why := checkText(line); why != "" {
		l.report(lineNo, why, line, false)
		return false
	}
	cols, err := SplitRow(line, l.cols[:0])
	recovered := false
	if err != nil {
		reason := err.Error()
		if l.cfg.Strict || !errors.Is(err, ErrUnbalancedQuote) {
			l.report(lineNo, reason, line, false)
			return false
		}
		var ok bool
		if cols, ok = RecoverRow(line, l.ncol, l.cols[:0]); !ok {
			l.report(lineNo, reason+" (cannot recover: "+strconv.Itoa(strings.Count(line, ",")+1)+" comma-separated parts, want "+strconv.Itoa(l.ncol)+")", line, false)
			return false
		}
		recovered = true
	}
	l.cols = cols
	if len(cols) != l.ncol {
		l.report(lineNo, fmt.Sprintf("%d columns, want %d", len(cols), l.ncol), line, false)
		return false
	}
	lay := l.lay
	if cap(l.vals) < len(lay.order) {
		l.vals = make([]string, len(lay.order))
	}
	vals := l.vals[:len(lay.order)]
	for i, j := range lay.order {
		vals[i] = cols[j]
	}
	err = lay.convert(vals)
	if err == nil {
		l.key, err = lay.appendKey(append(l.key[:0], l.cfg.Prefix...), vals)
	}
	if err != nil {
		l.report(lineNo, err.Error(), line, false)
		return false
	}
	if recovered {
		l.report(lineNo, "unbalanced double quote removed", line, true)
	}
	b.add(string(l.key), lay.fields, vals)
	return true
}

func (l *loader) report(lineNo int64, reason, raw string, recovered bool) {
	r := RowReport{Input: l.cfg.Input, Line: lineNo, Reason: reason, Raw: raw, Recovered: recovered}
	if recovered {
		l.sum.Recovered++
	} else {
		l.sum.Skipped++
	}
	if len(l.sum.Reports) < l.cfg.MaxReports {
		l.sum.Reports = append(l.sum.Reports, r)
	}
	if l.cfg.OnReport != nil {
		l.cfg.OnReport(r)
	}
	msg := "enrich: bad row skipped"
	if recovered {
		msg = "enrich: row recovered"
	}
	l.cfg.Logger.Warn(msg, "input", r.Input, "line", r.Line, "reason", r.Reason, "raw", r.Raw)
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its line end. A line longer than
// max is consumed and reported as errLineTooLong.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var long []byte
	for {
		part, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(part) <= max {
				long = append(long, part...)
			} else {
				long = long[:0:0]
				max = -1
			}
			continue
		}
		if max < 0 {
			return nil, errLineTooLong
		}
		if long != nil {
			part = append(long, part...)
		}
		part = bytes.TrimSuffix(part, []byte("\n"))
		part = bytes.TrimSuffix(part, []byte("\r"))
		if len(part) > max {
			return nil, errLineTooLong
		}
		return part, err
	}
}

// checkText reports why a line is not text: invalid UTF-8 or control bytes.
func checkText(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return "control byte in row"
		}
	}
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	return ""
}
