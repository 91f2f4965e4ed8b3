package mqlengine

import (
	"fmt"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
)

// checkExpr walks e and reports the first function, aggregate, operator
// or modifier the engine does not implement.
func checkExpr(e metricsql.Expr) error {
	var err error
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		if err != nil {
			return
		}
		err = checkNode(x)
	})
	return err
}

func checkNode(x metricsql.Expr) error {
	switch n := x.(type) {
	case *metricsql.FuncExpr:
		name := strings.ToLower(n.Name)
		if _, ok := rollupFuncs[name]; ok {
			return nil
		}
		if _, ok := transformFuncs[name]; ok {
			return nil
		}
		return unsupported(n.Name)
	case *metricsql.AggrFuncExpr:
		if _, ok := aggrFuncs[strings.ToLower(n.Name)]; !ok {
			return unsupported(n.Name)
		}
	case *metricsql.BinaryOpExpr:
		if _, ok := binaryOpFuncs[strings.ToLower(n.Op)]; !ok {
			return unsupported("binary operator " + n.Op)
		}
		switch strings.ToLower(n.JoinModifier.Op) {
		case "", "group_left", "group_right":
		default:
			return unsupported("join modifier " + n.JoinModifier.Op)
		}
	case *metricsql.MetricExpr, *metricsql.RollupExpr, *metricsql.NumberExpr,
		*metricsql.StringExpr, *metricsql.DurationExpr, *metricsql.ModifierExpr:
	default:
		return unsupported(fmt.Sprintf("expression %T", x))
	}
	return nil
}
