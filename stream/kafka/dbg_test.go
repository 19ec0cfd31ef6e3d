package kafka

import (
	"testing"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestDbgPersist(t *testing.T) {
	dir := t.TempDir()
	c1 := kfake.MustCluster(kfake.NumBrokers(1), kfake.DataDir(dir), kfake.SeedTopics(3, "x"))
	brokers := c1.ListenAddrs()
	_, csv := plays(2000, 7)
	n := produce(t, brokers, "x", csv)
	var hw [3]int64
	for p := int32(0); p < 3; p++ { hw[p] = c1.PartitionInfo("x", p).HighWatermark }
	c1.Close()
	c2 := kfake.MustCluster(kfake.NumBrokers(1), kfake.DataDir(dir))
	defer c2.Close()
	for p := int32(0); p < 3; p++ { t.Log(n, hw[p], c2.PartitionInfo("x", p).HighWatermark) }
}
