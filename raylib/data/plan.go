package data

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/goray-dev/goray/raylib/data/internal/expr"
)

// nodeKind is the kind of a logical operator.
type nodeKind int

const (
	nodeRead        nodeKind = iota // a datasource, split into read tasks
	nodeBlocks                      // blocks already in the object store
	nodeMap                         // map, map_batches, filter, flat_map, project: one stage
	nodeLimit                       // keep the first n rows
	nodeRepartition                 // all-to-all: n blocks of equal rows
)

// node is one logical operator; a Dataset is a chain of them, ending at a
// read or at blocks. Nodes are immutable once a Dataset holds them, so
// datasets can share their inputs.
type node struct {
	kind  nodeKind
	input *node
	label string // the operator's name as Ray prints it: MapBatches(f), Filter(...)

	read   *readSpec  // nodeRead
	blocks []BlockRef // nodeBlocks
	schema *arrow.Schema

	// nodeMap
	newStage      func(udf any) (stage, error) // udf: the actor pool's instance, if any
	rowPreserving bool                         // 1:1 on rows (map, project): limit can move above it
	filter        *expr.Expr
	selectCols    []string // a pure select_columns, for projection pushdown
	dropCols      []string // a pure drop_columns
	cfg           mapConfig

	limit int64 // nodeLimit
	parts int   // nodeRepartition
}

// mapConfig is how a map-like operator runs: as tasks or on an actor pool,
// with what resources and batch size.
type mapConfig struct {
	batchSize   int
	numCPUs     float64
	numGPUs     float64
	resources   map[string]float64
	concurrency int // task pools: most tasks at once (0: as resources allow)
	pool        *actorPool
	minActors   int
	maxActors   int
}

func (c mapConfig) fusableWith(d mapConfig) bool {
	if c.pool != nil || d.pool != nil {
		return false
	}
	if c.numCPUs != d.numCPUs || c.numGPUs != d.numGPUs || len(c.resources)+len(d.resources) > 0 {
		return false
	}
	return c.concurrency == d.concurrency || c.concurrency == 0 || d.concurrency == 0
}

// chain returns the nodes from the source to n.
func (n *node) chain() []*node {
	var out []*node
	for x := n; x != nil; x = x.input {
		out = append(out, x)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// knownSchema is the output schema when it is known without executing.
func (n *node) knownSchema() *arrow.Schema {
	switch n.kind {
	case nodeRead:
		return n.read.schema
	case nodeBlocks:
		return n.schema
	case nodeLimit, nodeRepartition:
		return n.input.knownSchema()
	}
	if n.schema != nil {
		return n.schema
	}
	if n.selectCols != nil || n.dropCols != nil || n.filter != nil {
		in := n.input.knownSchema()
		if in == nil {
			return nil
		}
		switch {
		case n.filter != nil:
			return in
		case n.selectCols != nil:
			for _, c := range n.selectCols {
				if len(in.FieldIndices(c)) == 0 {
					return nil // unknown: executing reports the missing column
				}
			}
			return projectSchema(in, n.selectCols)
		default:
			return dropSchema(in, n.dropCols)
		}
	}
	return nil
}

// knownRows is the row count when it is known without executing, or -1.
func (n *node) knownRows() int64 {
	switch n.kind {
	case nodeBlocks:
		var rows int64
		for _, b := range n.blocks {
			rows += b.Meta.NumRows
		}
		return rows
	case nodeRead:
		if n.read.rows >= 0 && n.read.filter == nil {
			return n.read.rows
		}
	case nodeLimit:
		if in := n.input.knownRows(); in >= 0 {
			return min(in, n.limit)
		}
	case nodeRepartition:
		return n.input.knownRows()
	case nodeMap:
		if n.rowPreserving {
			return n.input.knownRows()
		}
	}
	return -1
}

func projectSchema(s *arrow.Schema, cols []string) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(cols))
	for _, c := range cols {
		if i := s.FieldIndices(c); len(i) > 0 {
			fields = append(fields, s.Field(i[0]))
		}
	}
	return arrow.NewSchema(fields, nil)
}

func dropSchema(s *arrow.Schema, cols []string) *arrow.Schema {
	fields := make([]arrow.Field, 0, s.NumFields())
	for _, f := range s.Fields() {
		if !slices.Contains(cols, f.Name) {
			fields = append(fields, f)
		}
	}
	return arrow.NewSchema(fields, nil)
}

// schemaString formats a schema as Ray does in a Dataset's repr:
// {col1: double, col2: double}.
func schemaString(s *arrow.Schema) string {
	if s == nil {
		return "Unknown schema"
	}
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + ": " + typeName(f.Type)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// typeName is the type as pyarrow prints it, which Ray users know.
func typeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING:
		return "string"
	case arrow.FLOAT64:
		return "double"
	case arrow.FLOAT32:
		return "float"
	case arrow.FLOAT16:
		return "halffloat"
	case arrow.EXTENSION:
		if e, ok := t.(arrow.ExtensionType); ok {
			if s := tensorTypeName(e); s != "" {
				return s
			}
			return fmt.Sprintf("extension<%s>", e.ExtensionName())
		}
	case arrow.LIST:
		return "list<" + typeName(t.(*arrow.ListType).Elem()) + ">"
	case arrow.DICTIONARY:
		d := t.(*arrow.DictionaryType)
		return fmt.Sprintf("dictionary<values=%s, indices=%s>", typeName(d.ValueType), typeName(d.IndexType))
	}
	return t.String()
}

func schemaNames(s *arrow.Schema) []string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return names
}

func metadataOf(s *arrow.Schema) *arrow.Metadata {
	md := s.Metadata()
	return &md
}
