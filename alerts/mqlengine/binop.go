package mqlengine

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/VictoriaMetrics/metricsql/binaryop"

	"github.com/hlalert/hlalert/alerts/series"
)

// Binary operators follow VictoriaMetrics v1.150.0
// app/vmselect/promql/binary_op.go.

type binaryOpFunc func(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, error)

var binaryOpFuncs = map[string]binaryOpFunc{
	"+":       arithOp(binaryop.Plus),
	"-":       arithOp(binaryop.Minus),
	"*":       arithOp(binaryop.Mul),
	"/":       arithOp(binaryop.Div),
	"%":       arithOp(binaryop.Mod),
	"^":       arithOp(binaryop.Pow),
	"atan2":   arithOp(binaryop.Atan2),
	"==":      cmpOp(binaryop.Eq),
	"!=":      cmpOp(binaryop.Neq),
	">":       cmpOp(binaryop.Gt),
	"<":       cmpOp(binaryop.Lt),
	">=":      cmpOp(binaryop.Gte),
	"<=":      cmpOp(binaryop.Lte),
	"and":     binaryOpAnd,
	"or":      binaryOpOr,
	"unless":  binaryOpUnless,
	"if":      binaryOpIf,
	"ifnot":   binaryOpIfnot,
	"default": binaryOpDefault,
}

func evalBinaryOp(ec *evalConfig, be *metricsql.BinaryOpExpr) ([]*timeseries, error) {
	op := strings.ToLower(be.Op)
	bf := binaryOpFuncs[op]
	if bf == nil {
		return nil, unsupported("binary operator " + be.Op)
	}
	left, err := evalExpr(ec, be.Left)
	if err != nil {
		return nil, err
	}
	right, err := evalExpr(ec, be.Right)
	if err != nil {
		return nil, err
	}
	if op == "==" || op == "!=" {
		if isUnionFunc(be.Left) || isUnionFunc(be.Right) {
			return unionCmp(op == "==", be, left, right), nil
		}
	}
	rv, err := bf(be, left, right)
	if err != nil {
		return nil, fmt.Errorf("cannot evaluate %q: %w", be.AppendString(nil), err)
	}
	return rv, nil
}

func isUnionFunc(e metricsql.Expr) bool {
	fe, ok := e.(*metricsql.FuncExpr)
	return ok && (fe.Name == "" || strings.EqualFold(fe.Name, "union"))
}

func unionCmp(eq bool, be *metricsql.BinaryOpExpr, left, right []*timeseries) []*timeseries {
	if isUnionFunc(be.Left) {
		left, right = right, left
	}
	if len(left) == 0 || (eq && len(right) == 0) {
		return nil
	}
	if len(right) == 0 {
		return left
	}
	for _, l := range left {
		for j, v := range l.values {
			found := false
			for _, r := range right {
				if r.values[j] == v {
					found = true
					break
				}
			}
			if found != eq {
				l.values[j] = nan
			}
		}
	}
	return left
}

func arithOp(f func(a, b float64) float64) binaryOpFunc {
	return newBinaryOpFunc(func(a, b float64, _ bool) float64 { return f(a, b) })
}

func cmpOp(f func(a, b float64) bool) binaryOpFunc {
	return newBinaryOpFunc(func(a, b float64, isBool bool) float64 {
		if !isBool {
			if f(a, b) {
				return a
			}
			return nan
		}
		if math.IsNaN(a) {
			return nan
		}
		if f(a, b) {
			return 1
		}
		return 0
	})
}

func newBinaryOpFunc(bf func(a, b float64, isBool bool) float64) binaryOpFunc {
	return func(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, error) {
		isCmp := metricsql.IsBinaryOpCmp(be.Op)
		if !isCmp {
			left = removeEmptySeries(left)
			right = removeEmptySeries(right)
		}
		if len(left) == 0 && len(right) == 0 {
			return nil, nil
		}
		if (len(left) == 0 && be.FillLeft == nil) || (len(right) == 0 && be.FillRight == nil) {
			return nil, nil
		}
		left, right, dst, err := adjustBinaryOpTags(be, left, right)
		if err != nil {
			return nil, err
		}
		dropNaNRight := isCmp && isVectorComparisonExpr(be.Right)
		for i, l := range left {
			lv, rv, dv := l.values, right[i].values, dst[i].values
			for j, a := range lv {
				b := rv[j]
				aNaN, bNaN := math.IsNaN(a), math.IsNaN(b)
				if aNaN && bNaN {
					dv[j] = bf(a, b, be.Bool)
					continue
				}
				if dropNaNRight && bNaN && be.FillRight == nil {
					dv[j] = nan
					continue
				}
				if aNaN && be.FillLeft != nil {
					a = be.FillLeft.N
				}
				if bNaN && be.FillRight != nil {
					b = be.FillRight.N
				}
				dv[j] = bf(a, b, be.Bool)
			}
		}
		return dst, nil
	}
}

func isVectorComparisonExpr(e metricsql.Expr) bool {
	if re, ok := e.(*metricsql.RollupExpr); ok && re.Window == nil {
		e = re.Expr
	}
	be, ok := e.(*metricsql.BinaryOpExpr)
	if !ok || !metricsql.IsBinaryOpCmp(be.Op) {
		return false
	}
	return !isScalarLikeExpr(be.Left) || !isScalarLikeExpr(be.Right)
}

func isScalarLikeExpr(e metricsql.Expr) bool {
	switch e := e.(type) {
	case *metricsql.NumberExpr, *metricsql.DurationExpr:
		return true
	case *metricsql.BinaryOpExpr:
		return isScalarLikeExpr(e.Left) && isScalarLikeExpr(e.Right)
	case *metricsql.FuncExpr:
		switch strings.ToLower(e.Name) {
		case "now", "pi", "scalar", "start", "end", "step", "time", "timezone_offset":
			return true
		}
	}
	return false
}

func removeEmptySeries(tss []*timeseries) []*timeseries {
	out := tss[:0:0]
	for _, t := range tss {
		for _, v := range t.values {
			if !math.IsNaN(v) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func isScalar(tss []*timeseries) bool {
	return len(tss) == 1 && len(tss[0].labels) == 0
}

func groupOpOf(be *metricsql.BinaryOpExpr) string {
	op := strings.ToLower(be.GroupModifier.Op)
	if op == "" {
		return "ignoring"
	}
	return op
}

// applyGroup is RemoveTagsOn / RemoveTagsIgnoring on a label set.
func applyGroup(ls series.Labels, groupOp string, tags []string) series.Labels {
	if groupOp == "on" {
		return keepLabels(ls, tags...)
	}
	if len(tags) == 0 {
		return ls
	}
	return delLabels(ls, tags...)
}

func resetNameIfRequired(be *metricsql.BinaryOpExpr, ts *timeseries) {
	if metricsql.IsBinaryOpCmp(be.Op) && !be.Bool {
		return
	}
	if be.KeepMetricNames {
		return
	}
	ts.labels = dropName(ts.labels)
}

func adjustBinaryOpTags(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, []*timeseries, []*timeseries, error) {
	if be.GroupModifier.Op == "" && be.JoinModifier.Op == "" {
		if isScalar(left) {
			l := left[0]
			rvsLeft := make([]*timeseries, len(right))
			for i, r := range right {
				resetNameIfRequired(be, r)
				rvsLeft[i] = l
			}
			return rvsLeft, right, right, nil
		}
		if isScalar(right) {
			r := right[0]
			rvsRight := make([]*timeseries, len(left))
			for i, l := range left {
				resetNameIfRequired(be, l)
				rvsRight[i] = r
			}
			return left, rvsRight, left, nil
		}
	}
	mLeft, keys := mapByTagSet(be, left)
	mRight, rkeys := mapByTagSet(be, right)
	joinOp := strings.ToLower(be.JoinModifier.Op)
	groupOp := groupOpOf(be)
	groupTags := be.GroupModifier.Args
	if be.KeepMetricNames && groupOp == "on" {
		groupTags = append(slices.Clone(groupTags), series.MetricName)
	}
	if be.FillLeft != nil {
		for _, k := range rkeys {
			if _, ok := mLeft[k]; !ok {
				mLeft[k] = nil
				keys = append(keys, k)
			}
		}
	}
	var rvsLeft, rvsRight []*timeseries
	for _, k := range keys {
		tssLeft := mLeft[k]
		tssRight := mRight[k]
		if len(tssLeft) == 0 {
			tssLeft = []*timeseries{newFillSeries(be, tssRight[0])}
		}
		if len(tssRight) == 0 {
			if be.FillRight == nil {
				continue
			}
			tssRight = []*timeseries{newFillSeries(be, tssLeft[0])}
		}
		var err error
		switch joinOp {
		case "group_left":
			rvsLeft, rvsRight, err = groupJoin("right", be, rvsLeft, rvsRight, tssLeft, tssRight)
		case "group_right":
			rvsRight, rvsLeft, err = groupJoin("left", be, rvsRight, rvsLeft, tssRight, tssLeft)
		case "":
			if err = ensureSingle("left", be, tssLeft); err != nil {
				break
			}
			if err = ensureSingle("right", be, tssRight); err != nil {
				break
			}
			l := tssLeft[0]
			resetNameIfRequired(be, l)
			l.labels = applyGroup(l.labels, groupOp, groupTags)
			rvsLeft = append(rvsLeft, l)
			rvsRight = append(rvsRight, tssRight[0])
		default:
			return nil, nil, nil, unsupported("join modifier " + be.JoinModifier.Op)
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
	dst := rvsLeft
	if joinOp == "group_right" {
		dst = rvsRight
	}
	return rvsLeft, rvsRight, dst, nil
}

// newFillSeries is the all-NaN partner fill_left/fill_right gives a series
// without a match: src's labels after the matching modifier.
func newFillSeries(be *metricsql.BinaryOpExpr, src *timeseries) *timeseries {
	ls := src.labels
	if !be.KeepMetricNames {
		ls = dropName(ls)
	}
	ls = applyGroup(ls, groupOpOf(be), be.GroupModifier.Args)
	t := &timeseries{labels: ls, values: make([]float64, len(src.values))}
	for i := range t.values {
		t.values[i] = nan
	}
	return t
}

// mapByTagSet groups series by their matching key; keys lists them in
// first-seen order.
func mapByTagSet(be *metricsql.BinaryOpExpr, tss []*timeseries) (map[string][]*timeseries, []string) {
	groupOp := groupOpOf(be)
	m := make(map[string][]*timeseries, len(tss))
	var keys []string
	for _, t := range tss {
		ls := t.labels
		if !be.KeepMetricNames {
			ls = dropName(ls)
		}
		ls = applyGroup(ls, groupOp, be.GroupModifier.Args)
		k := ls.Key()
		if _, ok := m[k]; !ok {
			keys = append(keys, k)
		}
		m[k] = append(m[k], t)
	}
	return m, keys
}

func ensureSingle(side string, be *metricsql.BinaryOpExpr, tss []*timeseries) error {
	for len(tss) > 1 {
		if !mergeNonOverlapping(tss[0], tss[len(tss)-1]) {
			return fmt.Errorf("duplicate time series on the %s side of %s %s: %s and %s", side, be.Op,
				be.GroupModifier.AppendString(nil), tss[0].labels, tss[len(tss)-1].labels)
		}
		tss = tss[:len(tss)-1]
	}
	return nil
}

func mergeNonOverlapping(dst, src *timeseries) bool {
	overlaps := 0
	for i, v := range src.values {
		if !math.IsNaN(v) && !math.IsNaN(dst.values[i]) {
			overlaps++
		}
	}
	if overlaps > 2 {
		return false
	}
	if len(src.values) <= 2 && len(dst.values) <= 2 {
		return false
	}
	for i, v := range src.values {
		if !math.IsNaN(v) {
			dst.values[i] = v
		}
	}
	return true
}

// setJoinTags is VictoriaMetrics' MetricName.SetTags for group_left/right.
func setJoinTags(ls series.Labels, add []string, prefix string, skip []string, src series.Labels) series.Labels {
	if len(add) == 1 && add[0] == "*" {
		for _, l := range src {
			if l.Name == series.MetricName || slices.Contains(skip, l.Name) {
				continue
			}
			ls = setLabel(ls, prefix+l.Name, l.Value)
		}
		return ls
	}
	for _, name := range add {
		if slices.Contains(skip, name) {
			continue
		}
		if name == series.MetricName {
			ls = setLabel(ls, name, src.Get(name))
			continue
		}
		if !src.Has(name) {
			ls = delLabels(ls, name)
			continue
		}
		ls = setLabel(ls, prefix+name, src.Get(name))
	}
	return ls
}

func groupJoin(singleSide string, be *metricsql.BinaryOpExpr, rvsLeft, rvsRight, tssLeft, tssRight []*timeseries) ([]*timeseries, []*timeseries, error) {
	joinTags := be.JoinModifier.Args
	var skip []string
	if strings.EqualFold(be.GroupModifier.Op, "on") {
		skip = be.GroupModifier.Args
	}
	prefix := ""
	if be.JoinModifierPrefix != nil {
		prefix = be.JoinModifierPrefix.S
	}
	type pair struct{ left, right *timeseries }
	for _, l := range tssLeft {
		resetNameIfRequired(be, l)
		if len(tssRight) == 1 {
			l.labels = setJoinTags(l.labels, joinTags, prefix, skip, tssRight[0].labels)
			rvsLeft = append(rvsLeft, l)
			rvsRight = append(rvsRight, tssRight[0])
			continue
		}
		m := map[string]*pair{}
		var order []string
		for _, r := range tssRight {
			c := copyTimeseries(l)
			c.labels = setJoinTags(c.labels, joinTags, prefix, skip, r.labels)
			k := c.labels.Key()
			p, ok := m[k]
			if !ok {
				m[k] = &pair{c, r}
				order = append(order, k)
				continue
			}
			tmp := copyTimeseries(p.right)
			if !mergeNonOverlapping(tmp, r) {
				return nil, nil, fmt.Errorf("duplicate time series on the %s side of `%s %s %s`: %s and %s", singleSide, be.Op,
					be.GroupModifier.AppendString(nil), be.JoinModifier.AppendString(nil), tmp.labels, r.labels)
			}
			p.right = tmp
		}
		for _, k := range order {
			rvsLeft = append(rvsLeft, m[k].left)
			rvsRight = append(rvsRight, m[k].right)
		}
	}
	return rvsLeft, rvsRight, nil
}

func seriesByKey(m map[string][]*timeseries, key string) []*timeseries {
	if tss := m[key]; tss != nil {
		return tss
	}
	if len(m) != 1 {
		return nil
	}
	for _, tss := range m {
		if isScalar(tss) {
			return tss
		}
	}
	return nil
}

func anyValueAt(tss []*timeseries, i int) bool {
	for _, t := range tss {
		if !math.IsNaN(t.values[i]) {
			return true
		}
	}
	return false
}

func addRightNaNsToLeft(tssLeft, tssRight []*timeseries) []*timeseries {
	for _, l := range tssLeft {
		for i := range l.values {
			if !anyValueAt(tssRight, i) {
				l.values[i] = nan
			}
		}
	}
	return removeEmptySeries(tssLeft)
}

func addLeftNaNsIfNoRightNaNs(tssLeft, tssRight []*timeseries) []*timeseries {
	for _, l := range tssLeft {
		for i := range l.values {
			if anyValueAt(tssRight, i) {
				l.values[i] = nan
			}
		}
	}
	return removeEmptySeries(tssLeft)
}

func binaryOpIf(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, error) {
	mLeft, keys := mapByTagSet(be, left)
	mRight, _ := mapByTagSet(be, right)
	var rvs []*timeseries
	for _, k := range keys {
		tssRight := seriesByKey(mRight, k)
		if tssRight == nil {
			continue
		}
		rvs = append(rvs, addRightNaNsToLeft(mLeft[k], tssRight)...)
	}
	return rvs, nil
}

func binaryOpAnd(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, error) {
	mLeft, _ := mapByTagSet(be, left)
	mRight, keys := mapByTagSet(be, right)
	var rvs []*timeseries
	for _, k := range keys {
		tssLeft := mLeft[k]
		if tssLeft == nil {
			continue
		}
		rvs = append(rvs, addRightNaNsToLeft(tssLeft, mRight[k])...)
	}
	return rvs, nil
}

func binaryOpDefault(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, error) {
	mLeft, keys := mapByTagSet(be, left)
	mRight, rkeys := mapByTagSet(be, right)
	var rvs []*timeseries
	if len(mLeft) == 0 {
		for _, k := range rkeys {
			rvs = append(rvs, mRight[k]...)
		}
		return rvs, nil
	}
	for _, k := range keys {
		tssLeft := mLeft[k]
		rvs = append(rvs, tssLeft...)
		tssRight := seriesByKey(mRight, k)
		if tssRight == nil {
			continue
		}
		for _, l := range tssLeft {
			for i, v := range l.values {
				if !math.IsNaN(v) {
					continue
				}
				for _, r := range tssRight {
					if !math.IsNaN(r.values[i]) {
						l.values[i] = r.values[i]
						break
					}
				}
			}
		}
	}
	return rvs, nil
}

func binaryOpOr(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, error) {
	mLeft, keys := mapByTagSet(be, left)
	mRight, rkeys := mapByTagSet(be, right)
	var rvs []*timeseries
	for _, k := range keys {
		l := removeEmptySeries(mLeft[k])
		mLeft[k] = l
		rvs = append(rvs, l...)
	}
	for _, k := range rkeys {
		tssRight := mRight[k]
		tssLeft, ok := mLeft[k]
		if !ok {
			rvs = append(rvs, tssRight...)
			continue
		}
		fillLeftNaNsWithRightValuesOrMerge(tssLeft, tssRight)
		rvs = append(rvs, removeEmptySeries(tssRight)...)
	}
	return rvs, nil
}

func fillLeftNaNsWithRightValuesOrMerge(tssLeft, tssRight []*timeseries) {
	if isScalar(tssRight) {
		canMerge := isScalar(tssLeft)
		rv := tssRight[0].values
		for _, l := range tssLeft {
			for i, v := range l.values {
				leftNaN := math.IsNaN(v)
				if leftNaN && canMerge {
					l.values[i] = rv[i]
				}
				if !leftNaN || canMerge {
					rv[i] = nan
				}
			}
		}
		return
	}
	for _, l := range tssLeft {
		lk := l.labels.Key()
		for i, v := range l.values {
			leftNaN := math.IsNaN(v)
			for _, r := range tssRight {
				canMerge := lk == r.labels.Key()
				if leftNaN && canMerge {
					l.values[i] = r.values[i]
				}
				if !leftNaN || canMerge {
					r.values[i] = nan
				}
			}
		}
	}
}

func binaryOpIfnot(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, error) {
	mLeft, keys := mapByTagSet(be, left)
	mRight, _ := mapByTagSet(be, right)
	var rvs []*timeseries
	for _, k := range keys {
		tssRight := seriesByKey(mRight, k)
		if tssRight == nil {
			rvs = append(rvs, mLeft[k]...)
			continue
		}
		rvs = append(rvs, addLeftNaNsIfNoRightNaNs(mLeft[k], tssRight)...)
	}
	return rvs, nil
}

func binaryOpUnless(be *metricsql.BinaryOpExpr, left, right []*timeseries) ([]*timeseries, error) {
	mLeft, keys := mapByTagSet(be, left)
	mRight, _ := mapByTagSet(be, right)
	var rvs []*timeseries
	for _, k := range keys {
		tssRight := mRight[k]
		if tssRight == nil {
			rvs = append(rvs, mLeft[k]...)
			continue
		}
		rvs = append(rvs, addLeftNaNsIfNoRightNaNs(mLeft[k], tssRight)...)
	}
	return rvs, nil
}
