package targets

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/rulestream/rulestream/stream"
)

// Op is the kind of Redis write a Write performs.
type Op uint8

// The Redis writes a sink can perform.
const (
	OpStream    Op = iota + 1 // XADD key [MAXLEN ~ n] * field value ...
	OpList                    // LPUSH key element
	OpSortedSet               // ZADD key [NX|LT] score member
	OpSet                     // SADD key member
	OpHash                    // HSET key field value ...
)

var opNames = [...]string{"", "XADD", "LPUSH", "ZADD", "SADD", "HSET"}

func (o Op) String() string {
	if int(o) < len(opNames) && o > 0 {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Write is one Redis write applied to every event a sink receives. Key is a
// Template filled from the event. The payload is the event's fields, or the
// Fields subset, written as text (ints in decimal, times RFC 3339).
type Write struct {
	// Op is the command.
	Op Op
	// Key is the key template, e.g. "alerts:{user}".
	Key string
	// Fields is the payload subset in order (nil: all fields of the event).
	// Streams and hashes store them as field/value pairs; lists and sets
	// without Member store a JSON object of them.
	Fields []string
	// Member names the field whose text is the member (sorted set: required;
	// set and list: optional, instead of the JSON payload).
	Member string
	// Score names the field holding a sorted set's score: an int as is, a
	// time as unix milliseconds, a float as is. Empty: the event time in
	// unix milliseconds.
	Score string
	// NX keeps an existing member's score (ZADD NX: the first one wins).
	NX bool
	// LT keeps the lowest score (ZADD LT, Redis 6.2 or later): a member's
	// score only goes down; a new member is added. A result corrected by an
	// earlier event arriving late thus converges to the least score written,
	// whatever the order of the writes. NX and LT are exclusive.
	LT bool
	// MaxLen caps a stream approximately (XADD MAXLEN ~ n); 0: unbounded.
	MaxLen int64
	// IDField, if set, also writes the event's ID under this field name
	// (streams and hashes), so consumers can deduplicate.
	IDField string
}

// XAdd returns a stream write of the given fields (none: all).
func XAdd(key string, fields ...string) Write { return Write{Op: OpStream, Key: key, Fields: fields} }

// LPush returns a list write of a JSON object of the given fields (none: all).
func LPush(key string, fields ...string) Write { return Write{Op: OpList, Key: key, Fields: fields} }

// ZAdd returns a sorted-set write of member with score (see Write.Score).
func ZAdd(key, member, score string) Write {
	return Write{Op: OpSortedSet, Key: key, Member: member, Score: score}
}

// SAdd returns a set write of the member field's text.
func SAdd(key, member string) Write { return Write{Op: OpSet, Key: key, Member: member} }

// HSet returns a hash write of the given fields (none: all).
func HSet(key string, fields ...string) Write { return Write{Op: OpHash, Key: key, Fields: fields} }

// String describes the write, e.g. "XADD queue:ads".
func (w Write) String() string { return w.Op.String() + " " + w.Key }

// Validate checks the write's settings.
func (w Write) Validate() error {
	if w.Op < OpStream || w.Op > OpHash {
		return fmt.Errorf("write %s: unknown op", w)
	}
	if w.Key == "" {
		return fmt.Errorf("write %s: no key", w)
	}
	if _, err := stream.ParseTemplate(w.Key); err != nil {
		return fmt.Errorf("write %s: %w", w, err)
	}
	for i, f := range w.Fields {
		if f == "" {
			return fmt.Errorf("write %s: field %d has no name", w, i)
		}
	}
	if w.Op == OpSortedSet && w.Member == "" {
		return fmt.Errorf("write %s: a sorted set needs a Member field", w)
	}
	if w.MaxLen < 0 {
		return fmt.Errorf("write %s: negative MaxLen", w)
	}
	if (w.Score != "" || w.NX || w.LT) && w.Op != OpSortedSet {
		return fmt.Errorf("write %s: Score, NX and LT apply to sorted sets only", w)
	}
	if w.NX && w.LT {
		return fmt.Errorf("write %s: NX and LT are exclusive (NX keeps the first score, LT the lowest)", w)
	}
	if w.MaxLen > 0 && w.Op != OpStream {
		return errors.New("write " + w.String() + ": MaxLen applies to streams only")
	}
	return nil
}
