package enrich

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

// LoadConfig sets how a loader runs. Zero values mean the defaults.
type LoadConfig struct {
	// Prefix goes before every key: <Prefix>account:42. Default "".
	Prefix string
	// Input names the input in reports and errors. Default: the file path,
	// or "input" for a reader.
	Input string
	// BatchSize is how many rows go into one pipelined round trip. Default 1000.
	BatchSize int
	// InFlight is how many batches may be written at once while the next
	// ones are parsed. Default 4.
	InFlight int
	// Progress receives progress: a progress bar when it is a terminal, plain
	// lines every ProgressEvery otherwise, and the summary line. nil: none.
	Progress io.Writer
	// ProgressEvery is the interval of plain progress lines. Default 1s.
	ProgressEvery time.Duration
	// Strict skips rows with an unbalanced quote instead of recovering them.
	Strict bool
	// MaxLineSize is the longest line accepted, in bytes. Default 1 MiB.
	MaxLineSize int
	// MaxReports bounds Summary.Reports; the counts stay exact. Default 1000.
	MaxReports int
	// OnReport, if set, is called with every bad or recovered row.
	OnReport func(RowReport)
	// Logger receives bad rows (Warn) and the summary (Info). nil: discard.
	Logger *slog.Logger
	// Clock times the load and the progress lines. Default: the system clock.
	Clock stream.Clock
}

func (c *LoadConfig) setDefaults() {
	if c.Input == "" {
		c.Input = "input"
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.InFlight <= 0 {
		c.InFlight = 4
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	if c.MaxLineSize <= 0 {
		c.MaxLineSize = 1 << 20
	}
	if c.MaxReports <= 0 {
		c.MaxReports = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
}

// RowReport is a row that was skipped (Recovered false) or loaded after
// repair (Recovered true), with its 1-based line number.
type RowReport struct {
	Input     string
	Line      int64
	Reason    string
	Raw       string
	Recovered bool
}

func (r RowReport) String() string {
	what := "skipped"
	if r.Recovered {
		what = "recovered"
	}
	return fmt.Sprintf("%s:%d: %s: %s", r.Input, r.Line, what, r.Reason)
}

// Summary is the outcome of a load.
type Summary struct {
	Table     string
	Input     string
	Loaded    int64 // rows written, recovered ones included
	Skipped   int64 // bad rows not written
	Recovered int64 // rows written after repair
	Duration  time.Duration
	Reports   []RowReport // the first MaxReports bad or recovered rows
}

// String is the summary line.
func (s Summary) String() string {
	return fmt.Sprintf("%s: loaded %d, skipped %d, recovered %d, %.2fs", s.Input, s.Loaded, s.Skipped, s.Recovered, s.Duration.Seconds())
}

// LoadTable loads the CSV rows read from r into one hash per row,
// <Prefix><t.Key rendered over the row's fields>, with the fields of
// t.Columns. The first line is the header. Bad rows are reported (with their
// line numbers) and skipped; the error is for what stops the whole load: an
// invalid table, a header lacking a column (ErrHeader), a read or Redis
// failure, or the end of ctx.
func LoadTable(ctx context.Context, client redis.UniversalClient, r io.Reader, t Table, cfg LoadConfig) (Summary, error) {
	return load(ctx, client, t, r, cfg)
}

// LoadTableFile is LoadTable reading the file at path, named path in
// reports unless LoadConfig.Input is set.
func LoadTableFile(ctx context.Context, client redis.UniversalClient, path string, t Table, cfg LoadConfig) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{Table: t.Name, Input: path}, fmt.Errorf("enrich: load %s: %w", t.Name, err)
	}
	defer f.Close()
	if cfg.Input == "" {
		cfg.Input = path
	}
	return load(ctx, client, t, f, cfg)
}

// ErrHeader is returned when the first line lacks a required column.
var ErrHeader = errors.New("header lacks a required column")
