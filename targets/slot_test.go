package targets

import (
	"strconv"
	"testing"
)

// TestKeySlot: the slots are Redis Cluster's (CLUSTER KEYSLOT), hash tags
// included: the first "{" and the first "}" after it, when not empty.
func TestKeySlot(t *testing.T) {
	for key, want := range map[string]int{
		"foo": 12182, "123": 5970, "a{foo}b": 12182, "{}foo": 9500, "foo{}{bar}": 8363,
		"x{bar": 4100, "{user1000}.following": 3443, "interest:1000": 10335,
	} {
		if got := keySlot([]byte(key)); got != want {
			t.Errorf("keySlot(%q) = %d, want %d", key, got, want)
		}
	}
}

// TestSlotTags: every slot has a tag that hashes to it, and the table never
// changes (marker keys are named after it: a replay must find the markers
// an earlier version wrote).
func TestSlotTags(t *testing.T) {
	for slot := range slots {
		tag := slotTag(slot)
		if got := keySlot([]byte("m:{" + tag + "}x:{y}")); got != slot || len(tag) > 4 {
			t.Fatalf("slotTag(%d) = %q, in slot %d", slot, tag, got)
		}
	}
	for slot, want := range map[int]string{0: "1bz", 5970: "123", 16383: "hia"} {
		if got := slotTag(slot); got != want {
			t.Errorf("slotTag(%d) = %q, want %q (the table must not change)", slot, got, want)
		}
	}
	if got := slotTag(keySlot([]byte("7"))); got != strconv.Itoa(7) {
		t.Errorf("slotTag of \"7\"'s slot = %q", got)
	}
}
