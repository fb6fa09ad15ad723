// Package csvread is goray's fast CSV reader: it turns byte ranges of CSV
// files into Arrow record batches, as pyarrow.csv does for Ray Data's
// read_csv.
//
// Usage: Infer the schema from the head of a file, Split the file into
// line-aligned byte ranges, and read each range (in parallel, one Reader
// per goroutine) with NewReader and Next.
//
// The parser is byte level. Each window of the read buffer is first indexed
// (the positions of delimiters and newlines, found eight bytes at a time
// when the window holds no quote), then only the projected fields
// (Options.Columns) are cut out and converted, straight into the slices
// that become the Arrow buffers; other fields are skipped without
// conversion.
//
// Format: RFC 4180. Fields are separated by Options.Delimiter; rows end in
// LF or CRLF (a lone CR is data); the last row may lack its newline; a
// UTF-8 BOM at the start of the file is skipped; empty lines are skipped.
// A '"' at the start of a field opens a quoted field, in which "" stands
// for '"' and delimiters and newlines are data; characters after the
// closing quote are kept, and a '"' inside an unquoted field is data (both
// as in pyarrow).
//
// Values follow pyarrow.csv's defaults:
//   - Null values (Options.NullValues) default to pyarrow's list, which
//     includes "" and "NA", "NaN", "null", "NULL"; they apply to quoted
//     values too. String and binary columns hold no nulls unless
//     Options.StringsCanBeNull: there "" is the empty string.
//   - int64: optional '-', decimal digits, or 0x-prefixed hex; float64:
//     decimal with optional sign, fraction and exponent, inf, infinity,
//     nan; both may be padded with spaces and tabs.
//   - bool: 1, true, True, TRUE and 0, false, False, FALSE.
//   - date32: YYYY-MM-DD; time32[s]: HH:MM[:SS]; timestamp:
//     YYYY-MM-DD[(T| )HH[:MM[:SS[.fraction]]]][Z|±HH[[:]MM]], a zone
//     offset making it timestamp[UTC] (converted to UTC).
//   - string values must be valid UTF-8 (a column that is not infers as
//     binary).
//
// Errors about the input are *ParseError values naming the file, the
// 1-based physical line (counted only when the error happens) and, for
// conversion errors, the column:
//
//	animals.csv: line 57: column "id": cannot parse "abc" as int64
package csvread
