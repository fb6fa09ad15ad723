package data

import (
	"slices"

	"github.com/goray-dev/goray/raylib/data/internal/expr"
)

// optimize rewrites a logical chain (on copies: datasets share nodes):
//   - limit pushdown: a limit moves below operators that keep every row
//     (map, projections), so fewer rows are computed, and two limits merge;
//   - projection pushdown: select/drop right after a read become the
//     read's column list (Parquet and CSV then skip the other columns);
//   - predicate pushdown: an expression filter right after a read is done
//     by the read (Parquet skips row groups its statistics rule out).
func optimize(n *node) *node {
	chain := n.chain()
	nodes := make([]*node, len(chain))
	for i, x := range chain {
		cp := *x
		nodes[i] = &cp
	}
	// Projection and predicate pushdown into the read.
	if nodes[0].kind == nodeRead {
		rs := *nodes[0].read
		for len(nodes) > 1 {
			x := nodes[1]
			if x.kind != nodeMap || x.cfg.pool != nil {
				break
			}
			switch {
			case x.selectCols != nil && rs.canProject && selectable(&rs, x.selectCols):
				rs.columns = intersectOrdered(rs.columns, x.selectCols)
			case x.filter != nil && rs.canFilter && filterColumnsKept(x.filter, rs.columns):
				if rs.filter == nil {
					rs.filter = x.filter
				} else if both, err := expr.Parse("(" + rs.filter.Source() + ") and (" + x.filter.Source() + ")"); err == nil {
					rs.filter = both
				} else {
					goto done
				}
			default:
				goto done
			}
			nodes = append(nodes[:1], nodes[2:]...)
		}
	done:
		src := *nodes[0]
		src.read = &rs
		nodes[0] = &src
	}
	// Limit pushdown: bubble each limit down past row-preserving maps.
	for changed := true; changed; {
		changed = false
		for i := 1; i+1 < len(nodes); i++ {
			a, b := nodes[i], nodes[i+1]
			if b.kind != nodeLimit {
				continue
			}
			switch {
			case a.kind == nodeLimit:
				a.limit = min(a.limit, b.limit)
				a.label = limitLabel(a.limit)
				nodes = append(nodes[:i+1], nodes[i+2:]...)
				changed = true
			case a.kind == nodeMap && a.rowPreserving && a.cfg.pool == nil:
				nodes[i], nodes[i+1] = b, a
				changed = true
			}
		}
	}
	for i := range nodes {
		if i == 0 {
			nodes[i].input = nil
		} else {
			nodes[i].input = nodes[i-1]
		}
	}
	return nodes[len(nodes)-1]
}

// selectable reports whether every selected column is still there to
// select; otherwise the select stays a step of its own and reports the
// missing column when it runs.
func selectable(rs *readSpec, cols []string) bool {
	for _, c := range cols {
		if rs.columns != nil && !slices.Contains(rs.columns, c) {
			return false
		}
		if rs.schema != nil && len(rs.schema.FieldIndices(c)) == 0 {
			return false
		}
	}
	return true
}

func filterColumnsKept(e *expr.Expr, cols []string) bool {
	if cols == nil {
		return true
	}
	for _, c := range e.Columns() {
		if !slices.Contains(cols, c) {
			return false
		}
	}
	return true
}

// intersectOrdered narrows a column list (nil: all columns) to sel, in
// sel's order.
func intersectOrdered(cur, sel []string) []string {
	out := make([]string, 0, len(sel))
	for _, c := range sel {
		if cur == nil || slices.Contains(cur, c) {
			out = append(out, c)
		}
	}
	return out
}

// requiredColumns narrows the read of a plan whose consumer needs no
// column (count): only the columns filters read are decoded. It returns
// the plan unchanged when an opaque function could read anything.
func countPlan(n *node) *node {
	chain := n.chain()
	if chain[0].kind != nodeRead || !chain[0].read.canProject {
		return n
	}
	var need []string
	for _, x := range chain[1:] {
		switch {
		case x.kind == nodeLimit || x.kind == nodeRepartition:
		case x.kind == nodeMap && x.filter != nil:
			for _, c := range x.filter.Columns() {
				if !slices.Contains(need, c) {
					need = append(need, c)
				}
			}
		case x.kind == nodeMap && x.selectCols != nil:
		default:
			return n
		}
	}
	if chain[0].read.filter != nil {
		for _, c := range chain[0].read.filter.Columns() {
			if !slices.Contains(need, c) {
				need = append(need, c)
			}
		}
	}
	// Rebuild the chain with the read narrowed and selects dropped.
	rs := *chain[0].read
	if len(need) == 0 {
		rs.countOnly = true
	}
	rs.columns = intersectOrdered(rs.columns, need)
	src := *chain[0]
	src.read = &rs
	prev := &src
	for _, x := range chain[1:] {
		if x.kind == nodeMap && x.selectCols != nil {
			continue
		}
		cp := *x
		cp.input = prev
		prev = &cp
	}
	return prev
}
