package mqlengine

import (
	"math"

	"github.com/hlalert/hlalert/alerts/series"
)

// The rollup functions below follow VictoriaMetrics v1.150.0
// app/vmselect/promql/rollup.go: prevValue is the sample just before the
// window (NaN when it is too old), values are the samples in (t-window, t].

func rollupDefault(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	return rfa.values[len(rfa.values)-1]
}

func rollupFirst(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	return rfa.values[0]
}

func rollupAvg(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	var s float64
	for _, v := range rfa.values {
		s += v
	}
	return s / float64(len(rfa.values))
}

func rollupMin(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	m := rfa.values[0]
	for _, v := range rfa.values {
		if v < m {
			m = v
		}
	}
	return m
}

func rollupMax(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	m := rfa.values[0]
	for _, v := range rfa.values {
		if v > m {
			m = v
		}
	}
	return m
}

func rollupTmin(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	m, t := rfa.values[0], rfa.timestamps[0]
	for i, v := range rfa.values {
		if v <= m {
			m, t = v, rfa.timestamps[i]
		}
	}
	return float64(t) / 1e3
}

func rollupTmax(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	m, t := rfa.values[0], rfa.timestamps[0]
	for i, v := range rfa.values {
		if v >= m {
			m, t = v, rfa.timestamps[i]
		}
	}
	return float64(t) / 1e3
}

func rollupTfirst(rfa *rollupFuncArg) float64 {
	if len(rfa.timestamps) == 0 {
		return nan
	}
	return float64(rfa.timestamps[0]) / 1e3
}

func rollupTlast(rfa *rollupFuncArg) float64 {
	if len(rfa.timestamps) == 0 {
		return nan
	}
	return float64(rfa.timestamps[len(rfa.timestamps)-1]) / 1e3
}

func rollupTlastChange(rfa *rollupFuncArg) float64 {
	values := rfa.values
	if len(values) == 0 {
		return nan
	}
	last := values[len(values)-1]
	values = values[:len(values)-1]
	for i := len(values) - 1; i >= 0; i-- {
		if values[i] != last {
			return float64(rfa.timestamps[i+1]) / 1e3
		}
	}
	if math.IsNaN(rfa.prevValue) || rfa.prevValue != last {
		return float64(rfa.timestamps[0]) / 1e3
	}
	return nan
}

func rollupSum(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	var s float64
	for _, v := range rfa.values {
		s += v
	}
	return s
}

func rollupSum2(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	var s float64
	for _, v := range rfa.values {
		s += v * v
	}
	return s
}

func rollupRateOverSum(rfa *rollupFuncArg) float64 {
	if len(rfa.timestamps) == 0 {
		return nan
	}
	var s float64
	for _, v := range rfa.values {
		s += v
	}
	return s / (float64(rfa.window) / 1e3)
}

func rollupGeomean(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	p := 1.0
	for _, v := range rfa.values {
		p *= v
	}
	return math.Pow(p, 1/float64(len(rfa.values)))
}

func rollupAbsent(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return 1
	}
	return nan
}

func rollupPresent(rfa *rollupFuncArg) float64 {
	if len(rfa.values) > 0 {
		return 1
	}
	return nan
}

func rollupCount(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	return float64(len(rfa.values))
}

func rollupStaleSamples(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	n := 0
	for _, v := range rfa.values {
		if series.IsStaleNaN(v) {
			n++
		}
	}
	return float64(n)
}

func stdvar(values []float64) float64 {
	if len(values) == 0 {
		return nan
	}
	if len(values) == 1 {
		return 0
	}
	var avg, count, q float64
	for _, v := range values {
		if math.IsNaN(v) {
			continue
		}
		count++
		avgNew := avg + (v-avg)/count
		q += (v - avg) * (v - avgNew)
		avg = avgNew
	}
	if count == 0 {
		return nan
	}
	return q / count
}

func mad(values []float64) float64 {
	median := quantile(0.5, values)
	ds := make([]float64, 0, len(values))
	for _, v := range values {
		ds = append(ds, math.Abs(v-median))
	}
	return quantile(0.5, ds)
}

func rollupOutlierIQR(rfa *rollupFuncArg) float64 {
	values := rfa.values
	if len(values) < 2 {
		return nan
	}
	q25, q75 := quantile(0.25, values), quantile(0.75, values)
	iqr := 1.5 * (q75 - q25)
	v := values[len(values)-1]
	if v > q75+iqr || v < q25-iqr {
		return v
	}
	return nan
}

func rollupIncreasePure(rfa *rollupFuncArg) float64 {
	values := rfa.values
	prev := rfa.prevValue
	if math.IsNaN(prev) {
		if len(values) == 0 {
			return nan
		}
		prev = 0
		if !math.IsNaN(rfa.realPrevValue) {
			prev = rfa.realPrevValue
		}
	}
	if len(values) == 0 {
		return 0
	}
	return values[len(values)-1] - prev
}

func rollupDelta(rfa *rollupFuncArg) float64 {
	values := rfa.values
	prev := rfa.prevValue
	if math.IsNaN(prev) {
		if len(values) == 0 {
			return nan
		}
		if !math.IsNaN(rfa.realPrevValue) {
			return values[len(values)-1] - rfa.realPrevValue
		}
		var d float64
		if len(values) > 1 {
			d = values[1] - values[0]
		} else if !math.IsNaN(rfa.realNextValue) {
			d = rfa.realNextValue - values[0]
		}
		if math.Abs(values[0]) < 10*(math.Abs(d)+1) {
			prev = 0
		} else {
			prev = values[0]
			values = values[1:]
		}
	}
	if len(values) == 0 {
		return 0
	}
	return values[len(values)-1] - prev
}

func rollupDeltaPrometheus(rfa *rollupFuncArg) float64 {
	if len(rfa.values) < 2 {
		return nan
	}
	return rfa.values[len(rfa.values)-1] - rfa.values[0]
}

func rollupIdelta(rfa *rollupFuncArg) float64 {
	values := rfa.values
	if len(values) == 0 {
		if math.IsNaN(rfa.prevValue) {
			return nan
		}
		return 0
	}
	last := values[len(values)-1]
	values = values[:len(values)-1]
	if len(values) == 0 {
		if math.IsNaN(rfa.prevValue) {
			return last
		}
		return last - rfa.prevValue
	}
	return last - values[len(values)-1]
}

func rollupDerivSlow(rfa *rollupFuncArg) float64 {
	_, k := linearRegression(rfa.values, rfa.timestamps, rfa.currTimestamp)
	return k
}

func rollupDerivFastPrometheus(rfa *rollupFuncArg) float64 {
	d := rollupDeltaPrometheus(rfa)
	if math.IsNaN(d) || rfa.window == 0 {
		return nan
	}
	return d / (float64(rfa.window) / 1e3)
}

func rollupDerivFast(rfa *rollupFuncArg) float64 {
	values, timestamps := rfa.values, rfa.timestamps
	prev, prevT := rfa.prevValue, rfa.prevTimestamp
	if math.IsNaN(prev) {
		if len(values) < 2 {
			return nan
		}
		prev, prevT = values[0], timestamps[0]
	} else if len(values) == 0 {
		return 0
	}
	dv := values[len(values)-1] - prev
	dt := float64(timestamps[len(timestamps)-1]-prevT) / 1e3
	return dv / dt
}

func rollupIderiv(rfa *rollupFuncArg) float64 {
	values, timestamps := rfa.values, rfa.timestamps
	if len(values) < 2 {
		if len(values) == 0 || math.IsNaN(rfa.prevValue) {
			return nan
		}
		return (values[0] - rfa.prevValue) / (float64(timestamps[0]-rfa.prevTimestamp) / 1e3)
	}
	vEnd, tEnd := values[len(values)-1], timestamps[len(timestamps)-1]
	values, timestamps = values[:len(values)-1], timestamps[:len(timestamps)-1]
	for len(timestamps) > 0 && timestamps[len(timestamps)-1] >= tEnd {
		timestamps = timestamps[:len(timestamps)-1]
	}
	var tStart int64
	var vStart float64
	if len(timestamps) == 0 {
		if math.IsNaN(rfa.prevValue) {
			return 0
		}
		tStart, vStart = rfa.prevTimestamp, rfa.prevValue
	} else {
		tStart, vStart = timestamps[len(timestamps)-1], values[len(timestamps)-1]
	}
	return (vEnd - vStart) / (float64(tEnd-tStart) / 1e3)
}

func rollupLifetime(rfa *rollupFuncArg) float64 {
	ts := rfa.timestamps
	if math.IsNaN(rfa.prevValue) {
		if len(ts) < 2 {
			return nan
		}
		return float64(ts[len(ts)-1]-ts[0]) / 1e3
	}
	if len(ts) == 0 {
		return nan
	}
	return float64(ts[len(ts)-1]-rfa.prevTimestamp) / 1e3
}

func rollupLag(rfa *rollupFuncArg) float64 {
	ts := rfa.timestamps
	if len(ts) == 0 {
		if math.IsNaN(rfa.prevValue) {
			return nan
		}
		return float64(rfa.currTimestamp-rfa.prevTimestamp) / 1e3
	}
	return float64(rfa.currTimestamp-ts[len(ts)-1]) / 1e3
}

func rollupScrapeInterval(rfa *rollupFuncArg) float64 {
	ts := rfa.timestamps
	if math.IsNaN(rfa.prevValue) {
		if len(ts) < 2 {
			return nan
		}
		return (float64(ts[len(ts)-1]-ts[0]) / 1e3) / float64(len(ts)-1)
	}
	if len(ts) == 0 {
		return nan
	}
	return (float64(ts[len(ts)-1]-rfa.prevTimestamp) / 1e3) / float64(len(ts))
}

func rollupChangesPrometheus(rfa *rollupFuncArg) float64 {
	values := rfa.values
	if len(values) < 1 {
		return nan
	}
	prev := values[0]
	n := 0
	for _, v := range values[1:] {
		if v != prev {
			if math.Abs(v-prev) < 1e-12*math.Abs(v) {
				continue
			}
			n++
			prev = v
		}
	}
	return float64(n)
}

func rollupChanges(rfa *rollupFuncArg) float64 {
	values := rfa.values
	prev := rfa.prevValue
	n := 0
	if math.IsNaN(prev) {
		if len(values) == 0 {
			return nan
		}
		if !math.IsNaN(rfa.realPrevValue) {
			prev = rfa.realPrevValue
		} else {
			n++
			prev = values[0]
			values = values[1:]
		}
	}
	for _, v := range values {
		if v != prev {
			if math.Abs(v-prev) < 1e-12*math.Abs(v) {
				continue
			}
			n++
			prev = v
		}
	}
	return float64(n)
}

func rollupIncreases(rfa *rollupFuncArg) float64 {
	return countSteps(rfa, func(v, prev float64) bool { return v > prev })
}

func rollupResets(rfa *rollupFuncArg) float64 {
	return countSteps(rfa, func(v, prev float64) bool { return v < prev })
}

func countSteps(rfa *rollupFuncArg, step func(v, prev float64) bool) float64 {
	values := rfa.values
	if len(values) == 0 {
		if math.IsNaN(rfa.prevValue) {
			return nan
		}
		return 0
	}
	prev := rfa.prevValue
	if math.IsNaN(prev) {
		prev = values[0]
		values = values[1:]
	}
	if len(values) == 0 {
		return 0
	}
	n := 0
	for _, v := range values {
		if step(v, prev) {
			if math.Abs(v-prev) < 1e-12*math.Abs(v) {
				continue
			}
			n++
		}
		prev = v
	}
	return float64(n)
}

func rollupAscentOverTime(rfa *rollupFuncArg) float64 {
	return sumSteps(rfa, func(prev, v float64) float64 { return v - prev })
}

func rollupDescentOverTime(rfa *rollupFuncArg) float64 {
	return sumSteps(rfa, func(prev, v float64) float64 { return prev - v })
}

func sumSteps(rfa *rollupFuncArg, d func(prev, v float64) float64) float64 {
	values := rfa.values
	prev := rfa.prevValue
	if math.IsNaN(prev) {
		if len(values) == 0 {
			return nan
		}
		prev = values[0]
		values = values[1:]
	}
	var s float64
	for _, v := range values {
		if x := d(prev, v); x > 0 {
			s += x
		}
		prev = v
	}
	return s
}

func rollupZScoreOverTime(rfa *rollupFuncArg) float64 {
	si := rollupScrapeInterval(rfa)
	lag := rollupLag(rfa)
	if math.IsNaN(si) || math.IsNaN(lag) || lag > si {
		return nan
	}
	d := rollupDefault(rfa) - rollupAvg(rfa)
	if d == 0 {
		return 0
	}
	return d / math.Sqrt(stdvar(rfa.values))
}

func rollupDistinct(rfa *rollupFuncArg) float64 {
	if len(rfa.values) == 0 {
		return nan
	}
	m := make(map[float64]struct{}, len(rfa.values))
	for _, v := range rfa.values {
		m[v] = struct{}{}
	}
	return float64(len(m))
}

func rollupIntegrate(rfa *rollupFuncArg) float64 {
	values, timestamps := rfa.values, rfa.timestamps
	prev := rfa.prevValue
	prevT := rfa.currTimestamp - rfa.window
	if math.IsNaN(prev) {
		if len(values) == 0 {
			return nan
		}
		prev, prevT = values[0], timestamps[0]
		values, timestamps = values[1:], timestamps[1:]
	}
	var s float64
	for i, v := range values {
		t := timestamps[i]
		s += prev * (float64(t-prevT) / 1e3)
		prevT, prev = t, v
	}
	if !math.IsNaN(rfa.realNextValue) {
		s += prev * (float64(rfa.currTimestamp-prevT) / 1e3)
	}
	return s
}

func linearRegression(values []float64, timestamps []int64, interceptTime int64) (float64, float64) {
	if len(values) == 0 {
		return nan, nan
	}
	if constValues(values) {
		return values[0], 0
	}
	var vSum, tSum, tvSum, ttSum float64
	n := 0
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		dt := float64(timestamps[i]-interceptTime) / 1e3
		vSum += v
		tSum += dt
		tvSum += dt * v
		ttSum += dt * dt
		n++
	}
	if n == 0 {
		return nan, nan
	}
	k := 0.0
	tDiff := ttSum - tSum*tSum/float64(n)
	if math.Abs(tDiff) >= 1e-6 {
		k = (tvSum - tSum*vSum/float64(n)) / tDiff
	}
	return vSum/float64(n) - k*tSum/float64(n), k
}

func constValues(values []float64) bool {
	for _, v := range values[1:] {
		if v != values[0] {
			return false
		}
	}
	return true
}

func newPredictLinear(secs []float64) rollupFunc {
	return func(rfa *rollupFuncArg) float64 {
		v, k := linearRegression(rfa.values, rfa.timestamps, rfa.currTimestamp)
		if math.IsNaN(v) {
			return nan
		}
		return v + k*secs[rfa.idx]
	}
}

func newQuantileOverTime(phis []float64) rollupFunc {
	return func(rfa *rollupFuncArg) float64 { return quantile(phis[rfa.idx], rfa.values) }
}

func newDurationOverTime(dMaxs []float64) rollupFunc {
	return func(rfa *rollupFuncArg) float64 {
		ts := rfa.timestamps
		if len(ts) == 0 {
			return nan
		}
		prev := ts[0]
		var sum int64
		dMax := int64(dMaxs[rfa.idx] * 1000)
		for _, t := range ts {
			if d := t - prev; d <= dMax {
				sum += d
			}
			prev = t
		}
		return float64(sum) / 1000
	}
}

func hoeffding(phis []float64, sign float64) rollupFunc {
	return func(rfa *rollupFuncArg) float64 {
		values := rfa.values
		if len(values) == 0 {
			return nan
		}
		if len(values) == 1 {
			return values[0]
		}
		vAvg := rollupAvg(rfa)
		vRange := rollupMax(rfa) - rollupMin(rfa)
		if vRange <= 0 {
			return vAvg
		}
		phi := phis[rfa.idx]
		if phi >= 1 {
			return vAvg + sign*math.Inf(1)
		}
		if phi <= 0 {
			return vAvg
		}
		bound := vRange * math.Sqrt(math.Log(1/(1-phi))/(2*float64(len(values))))
		return vAvg + sign*bound
	}
}

func newHoltWinters(args [][]*timeseries) (rollupFunc, error) {
	if len(args) != 3 {
		return nil, errArgs(len(args), 3)
	}
	sfs, err := getScalarArg(args[1], 1)
	if err != nil {
		return nil, err
	}
	tfs, err := getScalarArg(args[2], 2)
	if err != nil {
		return nil, err
	}
	return func(rfa *rollupFuncArg) float64 {
		values := rfa.values
		if len(values) == 0 {
			return nan
		}
		sf, tf := sfs[rfa.idx], tfs[rfa.idx]
		if sf < 0 || sf > 1 || tf < 0 || tf > 1 {
			return nan
		}
		s0 := rfa.prevValue
		if math.IsNaN(s0) {
			s0 = values[0]
			values = values[1:]
			if len(values) == 0 {
				return s0
			}
		}
		b0 := values[0] - s0
		for _, v := range values {
			s1 := sf*v + (1-sf)*(s0+b0)
			b1 := tf*(s1-s0) + (1-tf)*b0
			s0, b0 = s1, b1
		}
		return s0
	}, nil
}
