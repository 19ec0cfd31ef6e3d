package targets

// MarkerBase returns the marker key base (before the bucket) of the sink
// named name with marker prefix px for target key key: on a cluster, the
// slot's hash tag follows the prefix.
func MarkerBase(cluster bool, px, name, key string) string {
	if !cluster {
		return px + name + ":"
	}
	return px + "{" + slotTag(keySlot([]byte(key))) + "}" + name + ":"
}

// KeySlot is keySlot for the external tests.
func KeySlot(key string) int { return keySlot([]byte(key)) }
