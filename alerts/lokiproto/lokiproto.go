// Package lokiproto is Loki's push request on the wire: the protobuf
// messages of Loki's pkg/push (PushRequest, Stream, Entry with structured
// metadata), encoded and decoded with protowire.
//
// github.com/grafana/loki/pkg/push defines the same messages, and the tests
// check byte-for-byte agreement with it; hlalert does not link it because
// its generated code pulls in gRPC and gogo protobuf, whose package
// initialisation alone keeps about 2 MiB of the executable resident.
package lokiproto

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Stream is one log stream: its LogQL label set (`{job="x"}`) and entries.
type Stream struct {
	Labels  string
	Entries []Entry
	// Hash is the optional stream hash of the wire format (0: unset).
	Hash uint64
}

// Entry is one log line.
type Entry struct {
	Timestamp          time.Time
	Line               string
	StructuredMetadata []LabelPair
}

// LabelPair is one structured metadata pair.
type LabelPair struct{ Name, Value string }

// Field numbers of push.proto.
const (
	reqStreams = 1
	reqFormat  = 2 // checked, not kept

	streamLabels  = 1
	streamEntries = 2
	streamHash    = 3

	entryTimestamp = 1
	entryLine      = 2
	entryMetadata  = 3
	entryParsed    = 4 // Loki's own (querier side): checked, not kept

	pairName  = 1
	pairValue = 2

	tsSeconds = 1
	tsNanos   = 2
)

// Marshal encodes a PushRequest holding streams.
func Marshal(streams []Stream) []byte {
	var b []byte
	for i := range streams {
		b = protowire.AppendTag(b, reqStreams, protowire.BytesType)
		b = appendMessage(b, func(b []byte) []byte { return appendStream(b, &streams[i]) })
	}
	return b
}

// appendMessage appends a length-prefixed message written by body.
func appendMessage(b []byte, body func([]byte) []byte) []byte {
	// Write the body after a placeholder, then put the real length in.
	start := len(b)
	b = body(b)
	n := len(b) - start
	sz := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, sz)...)
	copy(b[start+sz:], b[start:start+n])
	protowire.AppendVarint(b[start:start], uint64(n))
	return b
}

func appendStream(b []byte, s *Stream) []byte {
	if s.Labels != "" {
		b = protowire.AppendTag(b, streamLabels, protowire.BytesType)
		b = protowire.AppendString(b, s.Labels)
	}
	for i := range s.Entries {
		b = protowire.AppendTag(b, streamEntries, protowire.BytesType)
		b = appendMessage(b, func(b []byte) []byte { return appendEntry(b, &s.Entries[i]) })
	}
	if s.Hash != 0 {
		b = protowire.AppendTag(b, streamHash, protowire.VarintType)
		b = protowire.AppendVarint(b, s.Hash)
	}
	return b
}

func appendEntry(b []byte, e *Entry) []byte {
	b = protowire.AppendTag(b, entryTimestamp, protowire.BytesType)
	b = appendMessage(b, func(b []byte) []byte {
		if s := e.Timestamp.Unix(); s != 0 {
			b = protowire.AppendTag(b, tsSeconds, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(s))
		}
		if n := e.Timestamp.Nanosecond(); n != 0 {
			b = protowire.AppendTag(b, tsNanos, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(n))
		}
		return b
	})
	if e.Line != "" {
		b = protowire.AppendTag(b, entryLine, protowire.BytesType)
		b = protowire.AppendString(b, e.Line)
	}
	for _, p := range e.StructuredMetadata {
		b = protowire.AppendTag(b, entryMetadata, protowire.BytesType)
		b = appendMessage(b, func(b []byte) []byte {
			if p.Name != "" {
				b = protowire.AppendTag(b, pairName, protowire.BytesType)
				b = protowire.AppendString(b, p.Name)
			}
			if p.Value != "" {
				b = protowire.AppendTag(b, pairValue, protowire.BytesType)
				b = protowire.AppendString(b, p.Value)
			}
			return b
		})
	}
	return b
}

// Unmarshal decodes a PushRequest. Strings are copies: nothing returned
// refers to b. Unknown fields are skipped, as protobuf requires.
func Unmarshal(b []byte) ([]Stream, error) {
	var out []Stream
	err := fields(b, "PushRequest", func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == reqFormat && typ != protowire.BytesType {
			return wrongType("PushRequest.format", typ)
		}
		if num != reqStreams {
			return nil
		}
		if typ != protowire.BytesType {
			return wrongType("PushRequest.streams", typ)
		}
		var s Stream
		if err := unmarshalStream(v, &s); err != nil {
			return fmt.Errorf("streams[%d]: %w", len(out), err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func unmarshalStream(b []byte, s *Stream) error {
	return fields(b, "Stream", func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case streamLabels:
			if typ != protowire.BytesType {
				return wrongType("Stream.labels", typ)
			}
			s.Labels = string(v)
		case streamEntries:
			if typ != protowire.BytesType {
				return wrongType("Stream.entries", typ)
			}
			var e Entry
			if err := unmarshalEntry(v, &e); err != nil {
				return fmt.Errorf("entries[%d]: %w", len(s.Entries), err)
			}
			s.Entries = append(s.Entries, e)
		case streamHash:
			if typ != protowire.VarintType {
				return wrongType("Stream.hash", typ)
			}
			s.Hash = x
		}
		return nil
	})
}

func unmarshalEntry(b []byte, e *Entry) error {
	return fields(b, "Entry", func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case entryTimestamp:
			if typ != protowire.BytesType {
				return wrongType("Entry.timestamp", typ)
			}
			t, err := unmarshalTimestamp(v)
			if err != nil {
				return err
			}
			e.Timestamp = t
		case entryLine:
			if typ != protowire.BytesType {
				return wrongType("Entry.line", typ)
			}
			e.Line = string(v)
		case entryMetadata, entryParsed:
			if typ != protowire.BytesType {
				return wrongType("Entry.structuredMetadata", typ)
			}
			var p LabelPair
			err := fields(v, "LabelPair", func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num != pairName && num != pairValue {
					return nil
				}
				if typ != protowire.BytesType {
					return wrongType("LabelPair", typ)
				}
				if num == pairName {
					p.Name = string(v)
				} else {
					p.Value = string(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if num == entryMetadata {
				e.StructuredMetadata = append(e.StructuredMetadata, p)
			}
		}
		return nil
	})
}

// Timestamp bounds of google.protobuf.Timestamp (years 1 to 9999).
const (
	minSeconds = -62135596800
	maxSeconds = 253402300799
)

func unmarshalTimestamp(b []byte) (time.Time, error) {
	var sec, nsec int64
	err := fields(b, "Timestamp", func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		switch num {
		case tsSeconds, tsNanos:
			if typ != protowire.VarintType {
				return wrongType("Timestamp", typ)
			}
			if num == tsSeconds {
				sec = int64(x)
			} else {
				nsec = int64(int32(x))
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if sec < minSeconds || sec > maxSeconds {
		return time.Time{}, fmt.Errorf("timestamp: seconds %d out of range", sec)
	}
	if nsec < 0 || nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("timestamp: nanos %d out of range [0, 1e9)", nsec)
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// fields walks the fields of one message, passing each one's number, wire
// type and value (bytes for length-delimited fields, the number for
// varint and fixed ones).
func fields(b []byte, msg string, each func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%s: bad field tag: %w", msg, protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.StartGroupType:
			n = skipGroup(b)
		default:
			return fmt.Errorf("%s: field %d: unexpected end of group", msg, num)
		}
		if n < 0 {
			return fmt.Errorf("%s: field %d: %w", msg, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := each(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// skipGroup skips the rest of a (deprecated) group as Loki's generated
// code does: by depth, without checking that the end marker's number
// matches. It returns the bytes consumed, or a negative protowire error.
func skipGroup(b []byte) int {
	depth, total := 1, 0
	for depth > 0 {
		_, typ, n := protowire.ConsumeTag(b[total:])
		if n < 0 {
			return n
		}
		total += n
		switch typ {
		case protowire.StartGroupType:
			depth++
			continue
		case protowire.EndGroupType:
			depth--
			continue
		case protowire.VarintType:
			_, n = protowire.ConsumeVarint(b[total:])
		case protowire.Fixed32Type:
			_, n = protowire.ConsumeFixed32(b[total:])
		case protowire.Fixed64Type:
			_, n = protowire.ConsumeFixed64(b[total:])
		case protowire.BytesType:
			_, n = protowire.ConsumeBytes(b[total:])
		default:
			return -1
		}
		if n < 0 {
			return n
		}
		total += n
	}
	return total
}

var errWrongType = errors.New("wrong wire type")

func wrongType(field string, typ protowire.Type) error {
	return fmt.Errorf("%s: %w %d", field, errWrongType, typ)
}
