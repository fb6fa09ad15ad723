package jupyter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Output is one output of a code cell, field for field as nbformat 4
// stores it. Which fields are used depends on OutputType:
//
//   - "stream": Name ("stdout" or "stderr") and Text;
//   - "display_data": Data, Metadata, and DisplayID while the kernel runs;
//   - "execute_result": Data, Metadata and ExecutionCount;
//   - "error": EName, EValue and Traceback.
//
// The callback given to Client.Execute also sees two events that are not
// outputs: "update_display_data" (Data and Metadata replace those of the
// outputs with the same DisplayID) and "clear_output" (the outputs so far
// were cleared).
type Output struct {
	OutputType string

	Name string
	Text string

	// Data maps MIME types to values: strings for text and base64 images,
	// decoded JSON for application/json and */*+json.
	Data     map[string]any
	Metadata map[string]any
	// ExecutionCount is the count an execute_result shows as Out[N].
	ExecutionCount *int

	EName     string
	EValue    string
	Traceback []string

	// DisplayID is the transient display_id of a display_data, which later
	// update_display_data messages refer to. nbformat does not store it.
	DisplayID string
}

// MarshalJSON encodes the output as nbformat does on disk: the keys of
// its output type only, and multi-line text as a list of lines.
func (o Output) MarshalJSON() ([]byte, error) {
	m := map[string]any{"output_type": o.OutputType}
	switch o.OutputType {
	case "stream":
		m["name"] = o.Name
		m["text"] = SplitLines(o.Text)
	case "display_data", "execute_result":
		m["data"] = SplitMIMEBundle(o.Data)
		m["metadata"] = nonNil(o.Metadata)
		if o.OutputType == "execute_result" {
			m["execution_count"] = o.ExecutionCount
		}
	case "error":
		m["ename"] = o.EName
		m["evalue"] = o.EValue
		tb := o.Traceback
		if tb == nil {
			tb = []string{}
		}
		m["traceback"] = tb
	default:
		// Not an nbformat output: keep whatever it has.
		if o.Name != "" {
			m["name"] = o.Name
		}
		if o.Text != "" {
			m["text"] = SplitLines(o.Text)
		}
		if o.Data != nil {
			m["data"] = SplitMIMEBundle(o.Data)
		}
		if o.Metadata != nil {
			m["metadata"] = o.Metadata
		}
	}
	return marshalNoEscape(m)
}

// UnmarshalJSON decodes an nbformat output, accepting text either as a
// string or as a list of lines.
func (o *Output) UnmarshalJSON(b []byte) error {
	var raw struct {
		OutputType     string         `json:"output_type"`
		Name           string         `json:"name"`
		Text           MultilineText  `json:"text"`
		Data           map[string]any `json:"data"`
		Metadata       map[string]any `json:"metadata"`
		ExecutionCount *int           `json:"execution_count"`
		EName          string         `json:"ename"`
		EValue         string         `json:"evalue"`
		Traceback      []string       `json:"traceback"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep numbers in metadata exactly as written
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	*o = Output{
		OutputType:     raw.OutputType,
		Name:           raw.Name,
		Text:           string(raw.Text),
		Data:           JoinMIMEBundle(raw.Data),
		Metadata:       raw.Metadata,
		ExecutionCount: raw.ExecutionCount,
		EName:          raw.EName,
		EValue:         raw.EValue,
		Traceback:      raw.Traceback,
	}
	return nil
}

// isJSONMIME reports whether values of this MIME type are JSON documents
// rather than text: nbformat keeps those as they are.
func isJSONMIME(mime string) bool {
	return mime == "application/json" || strings.HasSuffix(mime, "+json")
}

// isSplitMIME reports whether nbformat stores values of this MIME type as
// lists of lines: text, and the few other types that are text.
func isSplitMIME(mime string) bool {
	return strings.HasPrefix(mime, "text/") || mime == "application/javascript" || mime == "image/svg+xml"
}

// SplitMIMEBundle returns a copy of a MIME bundle with its text values split
// into lines, as nbformat writes it.
func SplitMIMEBundle(data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for mime, v := range data {
		if s, ok := v.(string); ok && isSplitMIME(mime) {
			out[mime] = SplitLines(s)
			continue
		}
		out[mime] = v
	}
	return out
}

// JoinMIMEBundle joins, in place, the values of a MIME bundle stored as lists
// of lines, as nbformat reads it.
func JoinMIMEBundle(data map[string]any) map[string]any {
	for mime, v := range data {
		list, ok := v.([]any)
		if !ok || isJSONMIME(mime) {
			continue
		}
		var sb strings.Builder
		joined := true
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				joined = false
				break
			}
			sb.WriteString(s)
		}
		if joined {
			data[mime] = sb.String()
		}
	}
	return data
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// MultilineText is nbformat's multi-line string: JSON that is either one
// string or a list of strings to concatenate. It encodes as a list of
// lines, as Jupyter writes it.
type MultilineText string

// MarshalJSON writes the text as a list of lines.
func (t MultilineText) MarshalJSON() ([]byte, error) {
	return marshalNoEscape(SplitLines(string(t)))
}

// UnmarshalJSON accepts a string, a list of strings, or null.
func (t *MultilineText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = MultilineText(s)
		return nil
	}
	var lines []string
	if err := json.Unmarshal(b, &lines); err != nil {
		return fmt.Errorf("multi-line text must be a string or a list of strings: %w", err)
	}
	*t = MultilineText(strings.Join(lines, ""))
	return nil
}

// SplitLines splits s after each line break, keeping the breaks, as
// Python's str.splitlines(keepends=True) does, which nbformat uses to
// store text. Joining the result gives s back. It never returns nil.
func SplitLines(s string) []string {
	lines := []string{}
	start := 0
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= 0x80 {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		end := -1
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			end = i + size
		case '\r':
			end = i + 1
			if i+1 < len(s) && s[i+1] == '\n' {
				end = i + 2
			}
		}
		if end < 0 {
			i += size
			continue
		}
		lines = append(lines, s[start:end])
		start, i = end, end
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

// marshalNoEscape is json.Marshal without the escaping of <, > and & that
// encoding/json does for HTML: Jupyter writes those characters as they are.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
