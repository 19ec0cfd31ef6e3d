package targets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

func TestRouterDispatchesInOrder(t *testing.T) {
	ads, sms, both := targets.NewMemory(), targets.NewMemory(), targets.NewMemory()
	r, err := targets.NewRouter(targets.RouterConfig{Routes: map[string][]stream.Sink{
		"ads": {ads, both}, "sms": {sms, both}}})
	if err != nil {
		t.Fatal(err)
	}
	evs := []stream.Event{emission("ads", "a", 1), emission("sms", "s", 2), emission("ads", "a", 3)}
	if err := r.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := ads.Events(""); len(got) != 2 || got[0].ID != evs[0].ID || got[1].ID != evs[2].ID {
		t.Errorf("ads got %v", got)
	}
	if got := both.Events(""); len(got) != 3 || got[1].ID != evs[1].ID {
		t.Errorf("both got %d events", len(got))
	}
	if len(sms.Events("")) != 1 || len(r.Sinks()) != 3 {
		t.Error("sms or sinks wrong")
	}
}

func TestRouterUnknownTarget(t *testing.T) {
	ads := targets.NewMemory()
	r, _ := targets.NewRouter(targets.RouterConfig{Routes: map[string][]stream.Sink{"ads": {ads}}})
	err := r.Write(context.Background(), []stream.Event{emission("ads", "a", 1), emission("mail", "m", 2)})
	var ute *targets.UnknownTargetError
	if !errors.As(err, &ute) || ute.Target != "mail" {
		t.Fatalf("err = %v, want UnknownTargetError for mail", err)
	}
	if len(ads.Events("")) != 0 {
		t.Error("a failed routing wrote part of the batch")
	}
	other := targets.NewMemory()
	r, _ = targets.NewRouter(targets.RouterConfig{Routes: map[string][]stream.Sink{"ads": {ads}}, Unknown: other})
	if err := r.Write(context.Background(), []stream.Event{emission("mail", "m", 2)}); err != nil || len(other.Events("mail")) != 1 {
		t.Fatalf("Unknown sink: err %v, got %d", err, len(other.Events("")))
	}
	if _, err := targets.NewRouter(targets.RouterConfig{Routes: map[string][]stream.Sink{"x": nil}}); err == nil {
		t.Error("empty route accepted")
	}
}
