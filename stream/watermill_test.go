package stream

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/stretchr/testify/require"
)

func TestSubscriberSourceAcksAfterEffectsAndDeadLetters(t *testing.T) {
	ps := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	for i := 0; i < 50; i++ {
		payload := fmt.Sprintf(`%d,%d,7,"2014-10-01 00:00:%02d",1,"12345"`, i, i%5, i)
		if i == 20 {
			payload = "not,a,play"
		}
		require.NoError(t, ps.Publish("plays", message.NewMessage(watermill.NewUUID(), []byte(payload))))
	}
	out, dead := NewCollectSink(), NewCollectSink()
	p := New("wm", Config{OutOfOrderness: time.Hour})
	p.From(NewSubscriberSource(ps, "plays", testPlayDecoder(), SubscriberConfig{})).To(out).DeadLetter(dead)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	require.NoError(t, out.WaitFor(ctx, 49))
	require.NoError(t, ps.Close()) // closes the subscription: end of input
	require.NoError(t, <-done)
	require.Equal(t, 49, out.Len())
	require.Equal(t, 1, dead.Len())
	require.Equal(t, "3 columns, want 6 (event_id,customer_id,track_id,datetime,ismobile,listening_zip_code)", dead.Events()[0].Get("reason").Str())
}

// spySubscriber hands out a transport's messages and keeps them, so a test
// can see whether each was acked or nacked.
type spySubscriber struct {
	message.Subscriber
	got chan *message.Message
}

func (s *spySubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := s.Subscriber.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		for m := range in {
			s.got <- m
			out <- m
		}
	}()
	return out, nil
}

func TestSubscriberSourceNacksOnFailure(t *testing.T) {
	for _, fail := range []bool{true, false} {
		ps := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
		require.NoError(t, ps.Publish("plays", message.NewMessage("1", []byte(`1,1,1,"2014-10-01 00:00:00",0,"1"`))))
		spy := &spySubscriber{Subscriber: ps, got: make(chan *message.Message, 10)}
		sink := SinkFunc(func(ctx context.Context, evs []Event) error {
			if fail {
				return errors.New("target down")
			}
			return nil
		})
		p := New("nack", Config{})
		p.From(NewSubscriberSource(spy, "plays", testPlayDecoder(), SubscriberConfig{})).To(sink)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		m := <-spy.got
		if fail {
			select {
			case <-m.Nacked():
			case <-ctx.Done():
				t.Fatal("not nacked")
			}
			require.ErrorContains(t, <-done, "target down")
		} else {
			select {
			case <-m.Acked():
			case <-ctx.Done():
				t.Fatal("not acked")
			}
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
		}
		cancel()
		require.NoError(t, ps.Close())
	}
}
