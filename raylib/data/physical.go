package data

import (
	"strings"
)

// physKind is how a physical operator runs.
type physKind int

const (
	physMap    physKind = iota // tasks or actor calls over bundles of blocks
	physLimit                  // passes the first n rows, then ends its inputs
	physRepart                 // all-to-all: waits for every block, then splits
)

// physOp is one operator of the streaming executor: a run of fused logical
// operators, named A->B as Ray names them.
type physOp struct {
	kind   physKind
	labels []string
	stages []stageFactory
	cfg    mapConfig
	reads  bool // its inputs are read tasks
	limit  int64
	parts  int
}

func (p *physOp) label() string { return strings.Join(p.labels, "->") }

// name is the operator as the execution plan shows it.
func (p *physOp) name() string {
	switch p.kind {
	case physLimit:
		return p.label()
	case physRepart:
		return "AllToAllOperator[" + p.label() + "]"
	}
	if p.cfg.pool != nil {
		return "ActorPoolMapOperator[" + p.label() + "]"
	}
	return "TaskPoolMapOperator[" + p.label() + "]"
}

// physicalPlan lowers an optimised logical chain to physical operators and
// fuses compatible neighbours: a task-pool map into the next task-pool map
// with the same resources, or into the actor-pool map after it.
func physicalPlan(n *node) (source *node, ops []*physOp) {
	chain := n.chain()
	source = chain[0]
	if source.kind == nodeRead {
		ops = append(ops, &physOp{kind: physMap, labels: []string{source.read.name}, reads: true})
	}
	for _, x := range chain[1:] {
		switch x.kind {
		case nodeLimit:
			ops = append(ops, &physOp{kind: physLimit, labels: []string{x.label}, limit: x.limit})
		case nodeRepartition:
			ops = append(ops, &physOp{kind: physRepart, labels: []string{x.label}, parts: x.parts})
		case nodeMap:
			op := &physOp{kind: physMap, labels: []string{x.label}, cfg: x.cfg}
			op.stages = []stageFactory{mapStage(x)}
			if len(ops) > 0 {
				prev := ops[len(ops)-1]
				if prev.kind == physMap && canFuse(prev, op) {
					prev.labels = append(prev.labels, op.labels...)
					prev.stages = append(prev.stages, op.stages...)
					batch := max(prev.cfg.batchSize, op.cfg.batchSize)
					if op.cfg.pool != nil || prev.cfg.concurrency == 0 {
						prev.cfg = op.cfg
					}
					// Inputs are bundled for the largest batch of the run.
					prev.cfg.batchSize = batch
					continue
				}
			}
			ops = append(ops, op)
		}
	}
	// A limit right after a task-pool map lets each of its tasks stop
	// early: take(3) on a huge file reads a few rows per task, not all.
	for i := 1; i < len(ops); i++ {
		if ops[i].kind == physLimit && ops[i-1].kind == physMap {
			lim := ops[i].limit
			ops[i-1].stages = append(ops[i-1].stages, func(any) (stage, error) { return &limitStage{left: lim}, nil })
		}
	}
	return source, ops
}

// canFuse reports whether next can run in the same tasks as prev. An
// actor pool upstream never fuses (its outputs leave the actors); a task
// pool fuses into a task pool with the same resources and concurrency, or
// into an actor pool (the actors then run the upstream work too).
func canFuse(prev, next *physOp) bool {
	if prev.cfg.pool != nil {
		return false
	}
	if next.cfg.pool != nil {
		return prev.cfg.concurrency == 0 && prev.cfg.numGPUs == 0 && len(prev.cfg.resources) == 0 &&
			prev.cfg.batchSize == 0
	}
	if next.cfg.batchSize > 0 && prev.cfg.batchSize > 0 && next.cfg.batchSize != prev.cfg.batchSize {
		return false
	}
	return prev.cfg.fusableWith(next.cfg)
}

// mapStage returns the stage factory of a map-like logical operator.
func mapStage(x *node) stageFactory {
	return func(udf any) (stage, error) { return x.newStage(udf) }
}
