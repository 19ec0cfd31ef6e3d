//go:build tools

// Package tools pins the modules the project is built on until code imports
// them, so go.sum is complete for every package.
package tools

import (
	_ "cel.dev/cel-go/cel"
	_ "github.com/IBM/sarama"
	_ "github.com/ThreeDotsLabs/watermill/message"
	_ "github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/stretchr/testify/require"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "go.yaml.in/yaml/v3"
)
