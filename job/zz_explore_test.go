package job

import (
	"fmt"
	"testing"
)

func TestZZExplore(t *testing.T) {
	src := "input:\n  kafka: {brokers: [b:9092], topic: t, group: g}\n  header: true\n  fields: {user: string, t: time, n: float}\n  time: t\n" + baseRules + baseTargets
	j, err := Parse("job.yaml", []byte(src), Options{})
	fmt.Println("kafka+header:", err)
	if j != nil {
		_, err = j.KafkaSource(nil, KafkaConfig{})
		fmt.Println("KafkaSource:", err)
	}
}
