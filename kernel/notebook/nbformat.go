package notebook

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/goray-dev/goray/kernel/jupyter"
)

// The nbformat version Write produces.
const (
	NBFormat      = 4
	NBFormatMinor = 5
)

// Notebook is an nbformat 4 notebook.
type Notebook struct {
	Cells []*Cell `json:"cells"`
	// Metadata holds kernelspec, language_info and whatever else
	// front-ends store; values are as encoding/json decodes them, with
	// numbers as json.Number so that they are written back unchanged.
	Metadata      map[string]any `json:"metadata"`
	NBFormat      int            `json:"nbformat"`
	NBFormatMinor int            `json:"nbformat_minor"`
}

// Cell types.
const (
	Code     = "code"
	Markdown = "markdown"
	Raw      = "raw"
)

// Cell is one cell of a notebook.
type Cell struct {
	ID       string
	CellType string // Code, Markdown or Raw
	Source   string
	Metadata map[string]any
	// Outputs and ExecutionCount belong to code cells.
	Outputs        []jupyter.Output
	ExecutionCount *int
	// Attachments belong to markdown and raw cells: file name to MIME bundle.
	Attachments map[string]any
}

// cellJSON is a cell as stored, any type.
type cellJSON struct {
	ID             string                `json:"id,omitempty"`
	CellType       string                `json:"cell_type"`
	Source         jupyter.MultilineText `json:"source"`
	Metadata       map[string]any        `json:"metadata"`
	Outputs        []jupyter.Output      `json:"outputs"`
	ExecutionCount *int                  `json:"execution_count"`
	Attachments    map[string]any        `json:"attachments"`
}

// MarshalJSON encodes the cell with the keys its type has in nbformat.
func (c *Cell) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"cell_type": c.CellType,
		"metadata":  nonNil(c.Metadata),
		"source":    jupyter.MultilineText(c.Source),
	}
	if c.ID != "" {
		m["id"] = c.ID
	}
	switch c.CellType {
	case Code:
		outs := c.Outputs
		if outs == nil {
			outs = []jupyter.Output{}
		}
		m["outputs"] = outs
		m["execution_count"] = c.ExecutionCount
	default:
		if c.Attachments != nil {
			att := make(map[string]any, len(c.Attachments))
			for name, v := range c.Attachments {
				if bundle, ok := v.(map[string]any); ok {
					v = jupyter.SplitMIMEBundle(bundle)
				}
				att[name] = v
			}
			m["attachments"] = att
		}
	}
	return marshal(m, "")
}

// UnmarshalJSON decodes a cell, its source either a string or a list of lines.
func (c *Cell) UnmarshalJSON(b []byte) error {
	var raw cellJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	for _, v := range raw.Attachments {
		if bundle, ok := v.(map[string]any); ok {
			jupyter.JoinMIMEBundle(bundle)
		}
	}
	*c = Cell{
		ID:             raw.ID,
		CellType:       raw.CellType,
		Source:         string(raw.Source),
		Metadata:       raw.Metadata,
		Outputs:        raw.Outputs,
		ExecutionCount: raw.ExecutionCount,
		Attachments:    raw.Attachments,
	}
	return nil
}

// Tags returns the cell's metadata.tags.
func (c *Cell) Tags() []string {
	list, _ := c.Metadata["tags"].([]any)
	tags := make([]string, 0, len(list))
	for _, t := range list {
		if s, ok := t.(string); ok {
			tags = append(tags, s)
		}
	}
	return tags
}

// HasTag reports whether the cell is tagged tag.
func (c *Cell) HasTag(tag string) bool {
	for _, t := range c.Tags() {
		if t == tag {
			return true
		}
	}
	return false
}

// Read reads the notebook at path.
func Read(path string) (*Notebook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	nb, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return nb, nil
}

// Parse decodes a notebook. It accepts nbformat 4 only, gives an id to
// every cell that lacks one or shares another's, and then marks the
// notebook as nbformat 4.5, the first minor version with cell ids.
func Parse(data []byte) (*Notebook, error) {
	var nb Notebook
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&nb); err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	if nb.NBFormat != NBFormat {
		return nil, fmt.Errorf("notebook: nbformat %d is not supported (only %d)", nb.NBFormat, NBFormat)
	}
	if nb.Metadata == nil {
		nb.Metadata = map[string]any{}
	}
	for i, c := range nb.Cells {
		if c == nil {
			return nil, fmt.Errorf("notebook: cell %d is null", i+1)
		}
	}
	nb.EnsureIDs()
	return &nb, nil
}

// validID is the pattern nbformat 4.5 sets for cell ids.
var validID = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)

// EnsureIDs gives a new id to each cell whose id is missing, invalid or
// a duplicate, as nbformat's validator repairs them, and raises the
// notebook's minor version to 5 if it was lower, since ids are only
// valid from 4.5 on.
func (nb *Notebook) EnsureIDs() {
	seen := make(map[string]bool, len(nb.Cells))
	for _, c := range nb.Cells {
		for c.ID == "" || seen[c.ID] || !validID.MatchString(c.ID) {
			c.ID = newCellID()
		}
		seen[c.ID] = true
	}
	if nb.NBFormatMinor < NBFormatMinor {
		nb.NBFormatMinor = NBFormatMinor
	}
}

// newCellID returns 8 random hex digits, like nbformat's random_cell_id.
func newCellID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Marshal encodes the notebook as Jupyter writes it: keys sorted, one
// space of indentation, <, > and & unescaped, and a trailing newline.
func (nb *Notebook) Marshal() ([]byte, error) {
	out := *nb
	out.Metadata = nonNil(nb.Metadata)
	if out.Cells == nil {
		out.Cells = []*Cell{}
	}
	return marshal(&out, " ")
}

// Write saves the notebook at path atomically: it writes a temporary
// file in the same folder and renames it over path, so a reader sees the
// old notebook or the new one, never part of one. An existing file keeps
// its permissions; a symbolic link keeps pointing to the new file.
func (nb *Notebook) Write(path string) error {
	data, err := nb.Marshal()
	if err != nil {
		return fmt.Errorf("write notebook %s: %w", path, err)
	}
	return writeFileAtomic(path, data)
}

func writeFileAtomic(path string, data []byte) (err error) {
	// Replace the file a symbolic link points to, not the link, as
	// Jupyter does.
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write notebook: %w", err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("write notebook: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write notebook: %w", err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write notebook: %w", err)
	}
	// Sync before the rename: after a crash, the name must not point to
	// a file whose contents never reached the disk.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write notebook: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write notebook: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write notebook: %w", err)
	}
	return nil
}

// marshal is json.Marshal without HTML escaping, indented by indent
// unless it is empty.
func marshal(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if indent == "" {
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	return buf.Bytes(), nil
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
