// Package csvread is goray's fast CSV reader: it turns byte ranges of CSV
// files into Arrow record batches, with pyarrow.csv's semantics, for
// Dataset's read_csv (Ray Data reads CSV through pyarrow).
//
// # Use
//
//	schema, err := csvread.Infer(path, opts)  // header + a 1 MiB sample
//	ranges, err := csvread.Split(path, 64<<20) // line-aligned byte ranges
//	for _, r := range ranges {                 // one goroutine per range, say
//		rd, err := csvread.NewReader(r, schema, opts)
//		for {
//			rec, err := rd.Next() // io.EOF at the end; rec.Release() after use
//		}
//		rd.Close()
//	}
//
// A Reader is not safe for concurrent use; read different ranges with
// different Readers.
//
// # How it is fast
//
// The file is read with large positioned reads into a reusable buffer. Each
// window of the buffer (128 KiB) is indexed first: the offsets of all
// delimiters and newlines go into a flat []uint32, found 32 bytes at a time
// with AVX2 on amd64 (index_amd64.s) and 8 bytes at a time with SWAR bit
// tricks elsewhere. Windows holding a '"' take a quote-aware scan instead.
// When every row of a window has the right number of fields (checked in
// O(rows)), each projected column is converted in one tight loop that
// strides through the index; fields of other columns are never touched
// (Options.Columns is the big win). Values go straight into the Go slices
// that become the Arrow buffers (no builders, no per-value allocation):
// hand-written integer and float parsers (floats: exact Clinger fast path,
// strconv for the rest), string bytes appended to one data buffer with
// int32 offsets, validity bitmaps only once a null shows up. Line numbers
// are only counted when an error is reported.
//
// # Format
//
// RFC 4180. Fields are separated by Options.Delimiter; rows end in LF or
// CRLF (a lone CR is data); the last row may lack its newline; a UTF-8 BOM
// at the start of the file is skipped; empty lines are skipped (also in
// one-column files, as pyarrow does). A '"' at the start of a field opens
// a quoted field, in which "" stands for '"' and delimiters and newlines
// are data; characters after the closing quote are kept, and a '"' inside
// an unquoted field is data (both as in pyarrow). An unterminated quoted
// field is an error (pyarrow would accept it at the end of the file).
//
// # Values (pyarrow.csv defaults)
//
//   - Null values (Options.NullValues) default to pyarrow's list,
//     DefaultNullValues, which includes "", "NA", "N/A", "NaN", "nan",
//     "NULL" and "null"; quoted values are checked too. String and binary
//     columns hold no nulls unless Options.StringsCanBeNull: there "" is
//     the empty string and "NA" is "NA".
//   - int64: optional '-', decimal digits, or 0x-prefixed hex (as Arrow);
//     float64: optional sign, digits with optional point and exponent,
//     inf, infinity, nan (any case); both may be padded with spaces and
//     tabs. Other integer widths and float32 through Options.ColumnTypes.
//   - bool: 1, true, True, TRUE and 0, false, False, FALSE.
//   - date32: YYYY-MM-DD; time32[s]: HH:MM[:SS]; timestamp:
//     YYYY-MM-DD[(T| )HH[:MM[:SS[.fraction]]]][Z|±HH[[:]MM]]; a zone makes
//     it timestamp[·, UTC] (values converted to UTC) and a naive column
//     rejects zoned values and the other way round, as pyarrow does.
//   - utf8 values must be valid UTF-8; a column that is not is inferred
//     as binary.
//
// Infer picks, per column, the first of null, int64, bool, float64,
// date32, time32[s], timestamp[s], timestamp[ns], timestamp[s, UTC],
// timestamp[ns, UTC], utf8 and binary that holds every sample value: the
// order pyarrow uses. Like pyarrow's streaming reader, it only sees the
// sample: a later value that does not fit is a read error, and a column
// that is empty in the sample has the null type.
//
// # Errors
//
// Errors about the input are *ParseError values naming the file, the
// 1-based physical line and, for conversion errors, the column:
//
//	animals.csv: line 57: column "id": cannot parse "abc" as int64
//	animals.csv: line 12: expected 3 fields, got 4
//	animals.csv: line 9: unterminated quoted field
//
// # Limitations
//
// Split returns the whole file as one range when the file holds a quote
// anywhere (a cut could fall inside a quoted field), so such files are read
// on one core; it reads the whole file once to find out. No comment lines,
// escape character, custom true/false values, decimal, dictionary or
// nested types, and no compressed input.
package csvread
