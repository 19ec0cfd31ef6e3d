package window

import "github.com/rulestream/rulestream/stream"

func (n *NewValue) newEarly() *early {
	if !n.cfg.Early {
		return nil
	}
	return newEarly(n.kf.names, n.cfg.Dedup, n.cfg.Within, n.cfg.MaxKeys, n.cfg.MaxPending, false, false)
}

// arrive is Early mode's look at an accepted event with a value: its (key,
// value) pair's pool holds the events of the pair that have arrived, in
// decision order, back to Within before the release point. The event is
// new when none of them before it lies in the Within before it; then it
// goes out at once. Nothing is claimed: a later-arriving, earlier event of
// the pair cannot take the early result back (see NewValueConfig.Early).
func (n *NewValue) arrive(ev *stream.Event, cut int64, out *stream.Emitter) {
	x := n.early
	vals := x.kf.values(ev)
	if vals[len(vals)-1].IsNull() {
		return
	}
	k, i, ok := x.arrive(ev, 0, stream.Value{}, cut, &n.stats)
	if !ok {
		return
	}
	if pool := x.ks[k].pool; i > 0 && pool[i-1].t >= sub(ev.Time, x.within) {
		return // seen within Within before it
	}
	x.fire(k, i)
	res := *ev
	res.Window = &stream.WindowInfo{Name: n.cfg.Name, Kind: KindNewValue, Key: keyText(n.key.values(ev)),
		Start: ev.Time, End: ev.Time, First: ev.Time, Last: ev.Time, Count: 1}
	n.stats.Early++
	n.stats.Emitted++
	out.Emit(res)
}

// settle tells whether the event-time result of ev went out early
// (confirmed: not emitted again) or not (a correction, emitted).
func (n *NewValue) settle(ev *stream.Event) bool {
	if n.early.settle(ev) {
		n.stats.Confirmed++
		return true
	}
	n.stats.Corrections++
	return false
}
