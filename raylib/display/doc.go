// Package display decides how goray's values look: as HTML in a Jupyter
// notebook (through GoNB's gonbui) and as aligned plain text in a terminal.
//
// Table is the common shape: the runtime's state (Objects, Resources,
// TaskSummary, StoreStats), CSV previews and later datasets all render
// through it, so they look alike in both places. Show displays any value;
// Progress draws Ray-Data-style progress bars for a streaming executor.
//
// Where output goes is a Display value rather than global state, so tests
// and programs can direct it (see Default).
package display
