package stream

import (
	"encoding/binary"
	"errors"
)

var errShortSnapshot = errors.New("snapshot truncated")

func appendUvarintBytes(buf, data []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(data)))
	return append(buf, data...)
}

func readUvarintBytes(data []byte) (part, rest []byte, err error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) {
		return nil, nil, errShortSnapshot
	}
	return data[k : k+int(n)], data[k+int(n):], nil
}
