// Package notebooks holds the lab's notebooks; its tests keep them honest:
// every image they show loads from inside this folder (assets is a link
// to the project's diagrams), and the committed outputs come from a run
// without errors.
package notebooks
