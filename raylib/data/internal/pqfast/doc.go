// Package pqfast is goray's fast Parquet read path: it reads flat columns
// of Parquet files into Arrow record batches with parquet-go's page API
// (github.com/parquet-go/parquet-go), decoding pages straight into Go
// slices that become the Arrow buffers, with no per-value boxing.
//
// It exists because, measured on this project's machines
// (bench/parquetlibs), parquet-go's page path is several times faster than
// arrow-go's pqarrow for projected reads and for string columns. It gives
// the same Arrow types, values and nulls as pqarrow (the schema is
// pqarrow's own, computed by pqarrow.FromParquet from the file's footer),
// for the columns it supports; Dataset's Parquet reader calls it first and
// falls back to pqarrow when Supported says no.
//
// # Use
//
//	pf, fh, err := pqfast.Open(path)
//	ok, why := pqfast.Supported(pf, columns) // else read with pqarrow
//	fh.Close()
//	err = pqfast.Read(ctx, path, rowGroups, columns, 128<<10, func(rec arrow.RecordBatch) error {
//		defer rec.Release()
//		...
//	})
//
// # Supported
//
// Top-level, non-repeated primitive columns, REQUIRED or OPTIONAL (nulls
// from the definition levels become the validity bitmap), whose pqarrow
// type is: bool; int8, uint8, int16, uint16, int32, uint32, date32, time32
// (INT32); int64, uint64, timestamp ms/us/ns with or without a time zone,
// time64 (INT64); float32; float64; string and binary (BYTE_ARRAY). Any
// encoding parquet-go decodes (PLAIN, RLE_DICTIONARY/PLAIN_DICTIONARY,
// DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
// BYTE_STREAM_SPLIT, RLE booleans), any codec it decodes, data pages v1 and
// v2.
//
// Not supported (Supported says why): nested columns (structs, lists,
// maps), repeated columns, decimals, FIXED_LEN_BYTE_ARRAY (float16, uuid,
// fixed_size_binary), INT96 timestamps, columns that the stored Arrow schema
// makes large_string/large_binary, dictionary or extension typed, durations,
// encrypted files, column chunks in other files.
//
// # How
//
// Each column runs in its own goroutine, one batch ahead of the caller: it
// reads the column chunk's pages in order (parquet-go decompresses and
// decodes each page into typed slices: []float64, []int32 dictionary
// indexes, bytes plus offsets, definition levels), and copies the page's
// values into the batch's Go slice (looking up dictionary indexes, and
// scattering around nulls for OPTIONAL columns). A finished slice is
// wrapped as an Arrow buffer without a copy (memory.NewBufferBytes).
// Strings go into one data buffer plus int32 offsets per batch.
package pqfast
