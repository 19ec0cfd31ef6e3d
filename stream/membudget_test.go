package stream

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "512MiB": 512 << 20, "1.5GiB": 3 << 29, "2G": 2 << 30,
		"2GB": 2e9, "300 MB": 300e6, "64K": 64 << 10, "1TiB": 1 << 40, "7B": 7} {
		got, err := ParseBytes(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "MiB", "-1GiB", "12XB", "1e30", "one"} {
		_, err := ParseBytes(bad)
		require.Error(t, err, bad)
	}
}

func TestMemoryFlag(t *testing.T) {
	n, err := MemoryFlag("off")
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = MemoryFlag("256MiB")
	require.NoError(t, err)
	require.Equal(t, int64(256<<20), n)
	_, err = MemoryFlag("1MiB")
	require.EqualError(t, err, "-memory 1MiB: at least 16MiB")
	_, err = MemoryFlag("lots")
	require.ErrorContains(t, err, `-memory: "lots" is not a size`)
	auto, err := MemoryFlag("auto")
	require.NoError(t, err)
	if avail := AvailableMemory(); avail > 0 {
		require.Equal(t, avail/10*8, auto)
		require.Positive(t, auto)
	}
}

func TestPeakRSSAndMemoryLine(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	peak := PeakRSS()
	require.Positive(t, peak)
	require.Regexp(t, `^memory: peak \d+ MiB RSS$`, MemoryLine(Stats{}, 0))
	require.Regexp(t, `^memory: peak \d+ MiB RSS, budget 64 MiB, the operators shed their oldest state 3 times \(counted in the evictions\)$`,
		MemoryLine(Stats{Sheds: 3}, 64<<20))
}
