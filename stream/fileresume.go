package stream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Resume makes the file be read on from where a checkpoint left it (the
// first offset given; a file is partition -1), at Connect. The file found
// at the path must be the one checkpointed (same device and inode, where
// the system has them) and at least as long as what was read: otherwise it
// was replaced (rotated) or truncated, and is read from its beginning,
// which is logged. Line numbers go on from the checkpoint's in both cases,
// as they do when a followed file is replaced while read.
func (s *FileSource) Resume(offsets []SourceOffset) ([]SourceOffset, error) {
	if s.path == "" || s.path == "-" {
		return nil, fmt.Errorf("%s: not a file: it cannot resume", s.name)
	}
	if len(offsets) == 0 {
		return nil, nil
	}
	at := offsets[0]
	at.Partition, at.Name = -1, s.path
	s.resumeAt = &at
	if s.file != nil { // connected already: resume now
		s.resumeAt = nil
		if err := s.seek(at); err != nil {
			return nil, err
		}
	}
	return []SourceOffset{at}, nil
}

// seek moves the file just opened to at, if it is the file at was taken
// of and holds it; else the file is read from its beginning.
func (s *FileSource) seek(at SourceOffset) error {
	s.line = at.Line
	fi, err := s.file.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	switch {
	case (at.Dev != 0 || at.Ino != 0) && (at.Dev != s.dev || at.Ino != s.ino):
		s.cfg.Logger.Warn("the file is not the one checkpointed (replaced or rotated): read from its beginning; lines written to the old one after the checkpoint are not read",
			"file", s.path, "checkpointed_inode", at.Ino, "inode", s.ino, "line", at.Line)
		return nil
	case fi.Size() < at.Byte:
		s.cfg.Logger.Warn("the file is shorter than when checkpointed (truncated): read from its beginning",
			"file", s.path, "checkpointed_bytes", at.Byte, "bytes", fi.Size(), "line", at.Line)
		return nil
	case at.Byte == 0:
		return nil
	}
	if s.hdr != nil {
		if err := s.readHeader(); err != nil {
			return err
		}
	}
	if _, err := s.file.Seek(at.Byte, io.SeekStart); err != nil {
		return fmt.Errorf("%s: resume at byte %d: %w", s.name, at.Byte, err)
	}
	s.offset, s.start = at.Byte, false
	return nil
}

// readHeader reads the first line of a file resumed past it, so that a
// header decoder learns the columns it named.
func (s *FileSource) readHeader() error {
	r := bufio.NewReaderSize(io.LimitReader(s.file, int64(s.cfg.MaxLineSize)), 64<<10)
	line, err := r.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: header: %w", s.name, err)
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(bytes.TrimPrefix(line, bom), []byte("\n")), []byte("\r"))
	d, err := s.hdr.Header(string(line))
	if err != nil {
		return &DecodeError{Pos: Position{Source: s.name, Partition: -1, Offset: 1, Line: true}, Reason: err.Error()}
	}
	if d == nil || d.Schema() == nil {
		return &DecodeError{Pos: Position{Source: s.name, Partition: -1, Offset: 1, Line: true}, Reason: fmt.Sprintf("header: decoder %T gave no schema", s.hdr)}
	}
	s.dec, s.header, s.headerRead = d, true, true
	return nil
}

// mark sets a batch's Resume to where the file stands after it: the
// bytes read up to the end of the last line taken (those read but not yet
// taken are read again by a resume).
func (s *FileSource) mark(b Batch) Batch {
	if s.file == nil {
		return b
	}
	n := s.offset - int64(len(s.pending)) - int64(max(len(s.chunk)-s.pos, 0))
	if n < 0 {
		// The rest of a replaced file's last line, taken after the new
		// file was opened: the new file is at its beginning.
		n = 0
	}
	b.Resume = &SourceOffset{Partition: -1, Name: s.path, Line: s.line, Byte: n, Dev: s.dev, Ino: s.ino}
	return b
}

var _ ResumableSource = (*FileSource)(nil)
