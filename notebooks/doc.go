// Package notebooks holds the lab's notebooks; its tests keep them honest:
// diagrams embedded as attachments match assets/, and the committed
// outputs come from a run without errors.
package notebooks
