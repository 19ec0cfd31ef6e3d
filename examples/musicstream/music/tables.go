package music

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// The demo's reference data, as enrich tables: cust.csv into hashes
// customer:<id>, music.csv into hashes track:<id>. Ids and the integer
// columns must be non-negative integers; SignDate is read as MM/DD/YYYY (or
// YYYY-MM-DD) and written as YYYY-MM-DD.
var (
	// CustomerTable is cust.csv: CustID,Name,Gender,Address,zip,SignDate,
	// Status,Level,Campaign,LinkedWithApps, written as the fields id, name,
	// gender, address, zip, sign_date, status, level, campaign,
	// linked_with_apps of gen.CustomerSchema.
	CustomerTable = enrich.Table{Name: "customer", Key: "customer:{id}", Columns: []enrich.Column{
		{Header: "CustID", Field: "id", Kind: stream.KindInt, Convert: nonNegative},
		{Header: "Name", Field: "name"},
		{Header: "Gender", Field: "gender", Kind: stream.KindInt, Convert: nonNegative},
		{Header: "Address", Field: "address"},
		{Header: "zip", Field: "zip"},
		{Header: "Status", Field: "status", Kind: stream.KindInt, Convert: nonNegative},
		{Header: "Level", Field: "level", Kind: stream.KindInt, Convert: nonNegative},
		{Header: "Campaign", Field: "campaign", Kind: stream.KindInt, Convert: nonNegative},
		{Header: "LinkedWithApps", Field: "linked_with_apps", Kind: stream.KindInt, Convert: nonNegative},
		// Last, so that a row with a bad date and a bad integer is reported
		// for the integer, as the loader always did.
		{Header: "SignDate", Field: "sign_date", Convert: isoDate},
	}}
	// TrackTable is music.csv: TrackId,Title,Artist,Length, written as the
	// fields id, title, artist, length of gen.TrackSchema.
	TrackTable = enrich.Table{Name: "track", Key: "track:{id}", Columns: []enrich.Column{
		{Header: "TrackId", Field: "id", Kind: stream.KindInt, Convert: nonNegative},
		{Header: "Title", Field: "title"},
		{Header: "Artist", Field: "artist"},
		{Header: "Length", Field: "length", Kind: stream.KindInt, Convert: nonNegative},
	}}
)

// CustomerLookup is the configuration joining "customer" records from
// <prefix>customer:<customer_id>, typed by gen.CustomerSchema.
func CustomerLookup(prefix string) enrich.LookupConfig {
	return enrich.LookupConfig{Name: "customer", Key: literal(prefix) + "customer:{customer_id}", Schema: gen.CustomerSchema}
}

// TrackLookup is the configuration joining "track" records from
// <prefix>track:<track_id>, typed by gen.TrackSchema.
func TrackLookup(prefix string) enrich.LookupConfig {
	return enrich.LookupConfig{Name: "track", Key: literal(prefix) + "track:{track_id}", Schema: gen.TrackSchema}
}

// LoadCustomers loads cust.csv from r into hashes <Prefix>customer:<id>.
func LoadCustomers(ctx context.Context, client redis.UniversalClient, r io.Reader, cfg enrich.LoadConfig) (enrich.Summary, error) {
	return enrich.LoadTable(ctx, client, r, CustomerTable, cfg)
}

// LoadTracks loads music.csv from r into hashes <Prefix>track:<id>.
func LoadTracks(ctx context.Context, client redis.UniversalClient, r io.Reader, cfg enrich.LoadConfig) (enrich.Summary, error) {
	return enrich.LoadTable(ctx, client, r, TrackTable, cfg)
}

// LoadCustomersFile is LoadCustomers reading the file at path.
func LoadCustomersFile(ctx context.Context, client redis.UniversalClient, path string, cfg enrich.LoadConfig) (enrich.Summary, error) {
	return enrich.LoadTableFile(ctx, client, path, CustomerTable, cfg)
}

// LoadTracksFile is LoadTracks reading the file at path.
func LoadTracksFile(ctx context.Context, client redis.UniversalClient, path string, cfg enrich.LoadConfig) (enrich.Summary, error) {
	return enrich.LoadTableFile(ctx, client, path, TrackTable, cfg)
}

// literal escapes the braces of s for a key template.
func literal(s string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
}

// nonNegative accepts the decimal digits of a non-negative integer (at most
// 18 of them), as the demo's ids and codes are.
func nonNegative(s string) (string, error) {
	ok := s != "" && len(s) <= 18
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= '0' && s[i] <= '9'
	}
	if !ok {
		return "", fmt.Errorf("%s is not a non-negative integer", strconv.Quote(s))
	}
	return s, nil
}

// isoDate turns the demo's MM/DD/YYYY (or an ISO YYYY-MM-DD) into
// YYYY-MM-DD, checking the day exists.
func isoDate(s string) (string, error) {
	var y, m, d int
	switch {
	case len(s) == 10 && s[2] == '/' && s[5] == '/':
		m, d, y = atoi(s[0:2]), atoi(s[3:5]), atoi(s[6:10])
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		y, m, d = atoi(s[0:4]), atoi(s[5:7]), atoi(s[8:10])
	default:
		return "", fmt.Errorf("%s is not MM/DD/YYYY", strconv.Quote(s))
	}
	if y < 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return "", fmt.Errorf("%s is not a valid date", strconv.Quote(s))
	}
	var b strings.Builder
	b.Grow(10)
	b.WriteString(pad(y, 4))
	b.WriteByte('-')
	b.WriteString(pad(m, 2))
	b.WriteByte('-')
	b.WriteString(pad(d, 2))
	return b.String(), nil
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// atoi parses all-digit s, or returns -1.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return -1
		}
		n = n*10 + int(c)
	}
	return n
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
