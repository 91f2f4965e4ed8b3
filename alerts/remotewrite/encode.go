package remotewrite

import (
	"math"

	"github.com/golang/snappy"
	"github.com/hlalert/hlalert/alerts/series"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of Prometheus' remote write protocol v1 (prompb):
//
//	WriteRequest { repeated TimeSeries timeseries = 1; }
//	TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	Label        { string name = 1; string value = 2; }
//	Sample       { double value = 1; int64 timestamp = 2; }
const (
	fieldTimeSeries  = 1
	fieldLabels      = 1
	fieldSamples     = 2
	fieldLabelName   = 1
	fieldLabelValue  = 2
	fieldSampleValue = 1
	fieldSampleTime  = 2
)

// encode renders pts as a snappy-compressed remote write request, one
// time series per point. Labels keep their order (series.Labels is sorted
// by name, as the protocol requires); values keep their exact bits, so
// staleness markers survive.
func encode(pts []series.Point) []byte {
	var req, ts, tmp []byte
	for _, p := range pts {
		ts = ts[:0]
		for _, l := range p.Labels {
			tmp = tmp[:0]
			tmp = protowire.AppendTag(tmp, fieldLabelName, protowire.BytesType)
			tmp = protowire.AppendString(tmp, l.Name)
			tmp = protowire.AppendTag(tmp, fieldLabelValue, protowire.BytesType)
			tmp = protowire.AppendString(tmp, l.Value)
			ts = protowire.AppendTag(ts, fieldLabels, protowire.BytesType)
			ts = protowire.AppendBytes(ts, tmp)
		}
		tmp = tmp[:0]
		tmp = protowire.AppendTag(tmp, fieldSampleValue, protowire.Fixed64Type)
		tmp = protowire.AppendFixed64(tmp, math.Float64bits(p.V))
		tmp = protowire.AppendTag(tmp, fieldSampleTime, protowire.VarintType)
		tmp = protowire.AppendVarint(tmp, uint64(p.T))
		ts = protowire.AppendTag(ts, fieldSamples, protowire.BytesType)
		ts = protowire.AppendBytes(ts, tmp)

		req = protowire.AppendTag(req, fieldTimeSeries, protowire.BytesType)
		req = protowire.AppendBytes(req, ts)
	}
	return snappy.Encode(nil, req)
}
