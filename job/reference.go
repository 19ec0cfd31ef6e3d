package job

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/stream"
)

// LoadReference loads the reference data of every lookup that declares a
// load: its CSV file, one hash per row under the lookup's load key
// (prefixed by cfg.Prefix). The file's header names the hash fields; the
// columns that are fields of the lookup are checked against their types
// (bad rows are reported with their line and skipped), other columns are
// not loaded. It returns one summary per file.
func (j *Job) LoadReference(ctx context.Context, rdb redis.UniversalClient, cfg enrich.LoadConfig) ([]enrich.Summary, error) {
	var out []enrich.Summary
	for _, l := range j.Lookups {
		if l.Load == nil {
			continue
		}
		t, err := l.table()
		if err != nil {
			return out, err
		}
		c := cfg
		c.Input = l.Load.File
		s, err := enrich.LoadTableFile(ctx, rdb, l.Load.File, t, c)
		if err != nil {
			return out, fmt.Errorf("lookup %s: load %s: %w", l.Name, l.Load.File, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// table describes the lookup's reference file: the header's columns that
// are fields of the lookup, typed.
func (l Lookup) table() (enrich.Table, error) {
	f, err := os.Open(l.Load.File)
	if err != nil {
		return enrich.Table{}, fmt.Errorf("lookup %s: %w", l.Name, err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return enrich.Table{}, fmt.Errorf("lookup %s: %s: no header line", l.Name, l.Load.File)
	}
	cols, err := enrich.SplitRow(strings.TrimRight(strings.TrimPrefix(line, "\ufeff"), "\r\n"), nil)
	if err != nil {
		return enrich.Table{}, fmt.Errorf("lookup %s: %s: header: %w", l.Name, l.Load.File, err)
	}
	t := enrich.Table{Name: l.Name, Key: l.Load.Key}
	for _, c := range cols {
		name := strings.TrimSpace(c)
		if i := fieldIndex(l.Fields, name); i >= 0 {
			k := l.Fields[i].Kind
			if k == stream.KindString {
				k = 0
			}
			t.Columns = append(t.Columns, enrich.Column{Header: name, Kind: k})
		}
	}
	tpl, err := stream.ParseTemplate(l.Load.Key)
	if err != nil {
		return enrich.Table{}, err
	}
	for _, k := range tpl.Fields() {
		found := false
		for _, c := range t.Columns {
			found = found || c.Header == k
		}
		if !found {
			return enrich.Table{}, fmt.Errorf("lookup %s: %s: the load key's {%s} is not a column of the header %q", l.Name, l.Load.File, k, strings.TrimSpace(line))
		}
	}
	return t, nil
}
