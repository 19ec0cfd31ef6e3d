package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// The plays CSV columns, as the csv input yields them (an array of strings).
const (
	colEventID = iota
	colCustomerID
	colTrackID
)

// column returns column i of a csv input message.
func column(m *service.Message, i int) (string, error) {
	v, err := m.AsStructured()
	if err != nil {
		return "", err
	}
	row, ok := v.([]any)
	if !ok || len(row) <= i {
		return "", fmt.Errorf("not a csv row with %d columns: %v", i+1, v)
	}
	s, ok := row[i].(string)
	if !ok {
		return "", fmt.Errorf("column %d is %T", i, row[i])
	}
	return s, nil
}

// registerPlugins registers the two Redis components Benthos's core lacks:
// the processor redis_customer (one pipeline of HMGET per batch, setting the
// metadata status and level) and the output redis_xadd (one pipeline of XADD
// per batch).
func registerPlugins(env *service.Environment, rdb *redis.Client, prefix string, written *atomic.Int64) error {
	err := env.RegisterBatchProcessor("redis_customer", service.NewConfigSpec().Summary("Looks up customer:<customer_id> in Redis."),
		func(*service.ParsedConfig, *service.Resources) (service.BatchProcessor, error) {
			return &customerLookup{rdb: rdb, prefix: prefix}, nil
		})
	if err != nil {
		return err
	}
	spec := service.NewConfigSpec().Summary("XADDs customer_id, track_id, event_id to queue:ads.").
		Field(service.NewOutputMaxInFlightField()).Field(service.NewBatchPolicyField("batching"))
	return env.RegisterBatchOutput("redis_xadd", spec,
		func(conf *service.ParsedConfig, _ *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			inFlight, err := conf.FieldMaxInFlight()
			if err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			policy, err := conf.FieldBatchPolicy("batching")
			if err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			return &xaddOutput{rdb: rdb, stream: prefix + "queue:ads", written: written}, policy, inFlight, nil
		})
}

type customerLookup struct {
	rdb    *redis.Client
	prefix string
}

func (c *customerLookup) ProcessBatch(ctx context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	pipe := c.rdb.Pipeline()
	cmds := map[string]*redis.SliceCmd{}
	ids := make([]string, len(batch))
	for i, m := range batch {
		id, err := column(m, colCustomerID)
		if err != nil {
			return nil, err
		}
		ids[i] = id
		if cmds[id] == nil {
			cmds[id] = pipe.HMGet(ctx, c.prefix+"customer:"+id, "status", "level")
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make(service.MessageBatch, len(batch))
	for i, m := range batch {
		v := cmds[ids[i]].Val()
		m = m.Copy()
		if s, ok := v[0].(string); ok {
			m.MetaSetMut("status", s)
		}
		if s, ok := v[1].(string); ok {
			if n, err := strconv.Atoi(s); err == nil {
				m.MetaSetMut("level", n)
			}
		}
		out[i] = m
	}
	return []service.MessageBatch{out}, nil
}

func (c *customerLookup) Close(context.Context) error { return nil }

type xaddOutput struct {
	rdb     *redis.Client
	stream  string
	written *atomic.Int64
}

func (o *xaddOutput) Connect(ctx context.Context) error { return o.rdb.Ping(ctx).Err() }

func (o *xaddOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	pipe := o.rdb.Pipeline()
	for _, m := range batch {
		var vals [6]string
		for j, c := range [...]int{colCustomerID, colTrackID, colEventID} {
			v, err := column(m, c)
			if err != nil {
				return err
			}
			vals[2*j+1] = v
		}
		vals[0], vals[2], vals[4] = "customer_id", "track_id", "event_id"
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: o.stream, Values: vals[:]})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	o.written.Add(int64(len(batch)))
	return nil
}

func (o *xaddOutput) Close(context.Context) error { return nil }
