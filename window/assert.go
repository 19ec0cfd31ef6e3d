package window

import "github.com/rulestream/rulestream/stream"

// The operators' contracts with the runner.
var (
	_ stream.Operator    = (*CountWithin)(nil)
	_ stream.Snapshotter = (*CountWithin)(nil)
	_ stream.Starter     = (*CountWithin)(nil)
	_ stream.Operator    = (*TimeWindows)(nil)
	_ stream.Snapshotter = (*TimeWindows)(nil)
	_ stream.Starter     = (*TimeWindows)(nil)
	_ stream.Operator    = (*Sessions)(nil)
	_ stream.Snapshotter = (*Sessions)(nil)
	_ stream.Starter     = (*Sessions)(nil)
	_ stream.Operator    = (*Order)(nil)
	_ stream.Snapshotter = (*Order)(nil)
	_ stream.Starter     = (*Order)(nil)
	_ stream.Operator    = (*Dedup)(nil)
	_ stream.Snapshotter = (*Dedup)(nil)
	_ stream.Starter     = (*Dedup)(nil)
)
