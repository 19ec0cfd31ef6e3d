package main

import (
	"bufio"
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/stretchr/testify/require"
)

// readSharedPlays reads tracks_live.csv with the standard library, apart
// from the code under test.
func readSharedPlays(t *testing.T, path string) []gen.Play {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	plays := make([]gen.Play, len(recs))
	for i, r := range recs {
		ts, err := time.Parse(time.DateTime, r[3])
		require.NoError(t, err)
		plays[i] = gen.Play{EventID: atoi(t, r[0]), CustomerID: atoi(t, r[1]), TrackID: atoi(t, r[2]), Time: ts, Mobile: r[4] == "1", Zip: r[5]}
	}
	return plays
}

func readSharedCustomers(t *testing.T, path string) []gen.Customer {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	recs, err := r.ReadAll()
	require.NoError(t, err)
	var cs []gen.Customer
	for _, rec := range recs[1:] {
		cs = append(cs, gen.Customer{ID: atoi(t, rec[0]), Name: rec[1], Status: int(atoi(t, rec[6])), Level: int(atoi(t, rec[7]))})
	}
	return cs
}

func atoi(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	require.NoError(t, err, s)
	return n
}
