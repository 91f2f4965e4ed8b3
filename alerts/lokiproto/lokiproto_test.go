package lokiproto

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"
)

// randomStreams makes streams with every field set or left empty.
func randomStreams(r *rand.Rand) []Stream {
	str := func() string {
		if r.IntN(4) == 0 {
			return ""
		}
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	var out []Stream
	for range r.IntN(4) {
		s := Stream{Labels: fmt.Sprintf(`{job="j%d"}`, r.IntN(100))}
		if r.IntN(3) == 0 {
			s.Labels = ""
		}
		if r.IntN(3) == 0 {
			s.Hash = r.Uint64()
		}
		for range r.IntN(5) {
			var ts time.Time
			switch r.IntN(4) {
			case 0:
				ts = time.Unix(0, 0).UTC()
			case 1:
				ts = time.Unix(r.Int64N(4e9)-2e9, 0).UTC()
			default:
				ts = time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()
			}
			e := Entry{Timestamp: ts, Line: str()}
			for range r.IntN(3) {
				e.StructuredMetadata = append(e.StructuredMetadata, LabelPair{Name: str(), Value: str()})
			}
			s.Entries = append(s.Entries, e)
		}
		out = append(out, s)
	}
	return out
}

func toPush(streams []Stream) push.PushRequest {
	var req push.PushRequest
	for _, s := range streams {
		ps := push.Stream{Labels: s.Labels, Hash: s.Hash}
		for _, e := range s.Entries {
			pe := push.Entry{Timestamp: e.Timestamp, Line: e.Line}
			for _, p := range e.StructuredMetadata {
				pe.StructuredMetadata = append(pe.StructuredMetadata, push.LabelAdapter{Name: p.Name, Value: p.Value})
			}
			ps.Entries = append(ps.Entries, pe)
		}
		req.Streams = append(req.Streams, ps)
	}
	return req
}

func fromPush(req push.PushRequest) []Stream {
	var out []Stream
	for _, ps := range req.Streams {
		s := Stream{Labels: ps.Labels, Hash: ps.Hash}
		for _, pe := range ps.Entries {
			e := Entry{Timestamp: pe.Timestamp, Line: pe.Line}
			for _, p := range pe.StructuredMetadata {
				e.StructuredMetadata = append(e.StructuredMetadata, LabelPair{Name: p.Name, Value: p.Value})
			}
			s.Entries = append(s.Entries, e)
		}
		out = append(out, s)
	}
	return out
}

// TestSameBytesAsLokisPush: Marshal writes exactly the bytes Loki's own
// pkg/push writes, and each side decodes the other's output to the same
// streams.
func TestSameBytesAsLokisPush(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	entries := 0
	for i := range 2000 {
		streams := randomStreams(r)
		for _, s := range streams {
			entries += len(s.Entries)
		}
		ours := Marshal(streams)
		req := toPush(streams)
		theirs, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("case %d: Marshal differs from push.PushRequest.Marshal:\n ours   %x\n theirs %x", i, ours, theirs)
		}
		got, err := Unmarshal(theirs)
		if err != nil {
			t.Fatalf("case %d: Unmarshal: %v", i, err)
		}
		if !reflect.DeepEqual(got, streams) {
			t.Fatalf("case %d: Unmarshal = %+v, want %+v", i, got, streams)
		}
		var back push.PushRequest
		if err := back.Unmarshal(ours); err != nil {
			t.Fatalf("case %d: push's Unmarshal of ours: %v", i, err)
		}
		if !reflect.DeepEqual(fromPush(back), streams) {
			t.Fatalf("case %d: push decodes ours to %+v, want %+v", i, fromPush(back), streams)
		}
	}
	if entries < 5000 {
		t.Fatalf("only %d entries generated", entries)
	}
}

func TestUnmarshalBad(t *testing.T) {
	good := Marshal([]Stream{{Labels: `{a="b"}`, Entries: []Entry{{Timestamp: time.Unix(1, 2), Line: "x"}}}})
	for name, b := range map[string][]byte{
		"truncated":        good[:len(good)-1],
		"bad tag":          {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"streams a varint": {0x08, 0x01},
		"nanos too big":    Marshal([]Stream{{Entries: []Entry{{}}}})[:0], // replaced below
	} {
		if name == "nanos too big" {
			// Entry{timestamp: {nanos: 1e9}} inside a Stream inside a request.
			ts := []byte{0x10, 0x80, 0x94, 0xeb, 0xdc, 0x03}
			entry := append([]byte{0x0a, byte(len(ts))}, ts...)
			stream := append([]byte{0x12, byte(len(entry))}, entry...)
			b = append([]byte{0x0a, byte(len(stream))}, stream...)
		}
		_, err := Unmarshal(b)
		var req push.PushRequest
		perr := req.Unmarshal(b)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if perr == nil {
			t.Errorf("%s: Loki's push accepts it, so should we (%v)", name, err)
		}
	}
}

// FuzzUnmarshal: on any input, Unmarshal fails exactly when Loki's push
// does, and otherwise decodes the same streams.
func FuzzUnmarshal(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		f.Add(Marshal(randomStreams(r)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Unmarshal(b)
		var req push.PushRequest
		perr := req.Unmarshal(b)
		if (err == nil) != (perr == nil) {
			t.Fatalf("Unmarshal error %v, Loki's push %v", err, perr)
		}
		if err != nil {
			return
		}
		want := fromPush(req)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Unmarshal = %+v, Loki's push %+v", got, want)
		}
	})
}
