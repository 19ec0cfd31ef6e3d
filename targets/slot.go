package targets

import (
	"bytes"
	"strconv"
	"sync"
)

// slots is the number of hash slots of a Redis Cluster.
const slots = 16384

// crcTable is CRC16-XMODEM (polynomial 0x1021), the checksum Redis Cluster
// hashes keys with.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>8)^x]
	}
	return c
}

// keySlot returns the hash slot of key as Redis Cluster computes it: the
// CRC16 of its hash tag (what lies between its first "{" and the first "}"
// after it, if not empty) or else of the whole key, modulo 16384.
func keySlot(key []byte) int {
	if i := bytes.IndexByte(key, '{'); i >= 0 {
		if j := bytes.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % slots)
}

// slotTag returns a short hash tag of slot: a key holding "{" + tag + "}"
// is in that slot. The tags are the first base-36 numbers ("0", "1", ...,
// "a", ..., "10", ...) to land in each slot. Marker keys are named after
// them, so the table must never change: a replay must find the markers an
// earlier process wrote.
func slotTag(slot int) string { return slotTags()[slot] }

var slotTags = sync.OnceValue(func() []string {
	tags := make([]string, slots)
	left := slots
	var b []byte
	for n := int64(0); left > 0; n++ {
		b = strconv.AppendInt(b[:0], n, 36)
		if s := crc16(b) % slots; tags[s] == "" {
			tags[s] = string(b)
			left--
		}
	}
	return tags
})
