// Package tensor provides tensor and image columns for goray's Dataset.
//
// Tensors (and images, which are HxWxC uint8 tensors) are stored in Arrow
// columns of the canonical extension type "arrow.fixed_shape_tensor"
// (https://arrow.apache.org/docs/format/CanonicalExtensions.html), whose
// storage is fixed_size_list<item: T>[prod(shape)] and whose serialized
// metadata is JSON such as {"shape":[224,224,3]}. Columns written this way
// survive Arrow IPC and Parquet and are read by pyarrow as
// pa.FixedShapeTensorType, and pyarrow-written tensor columns read back here.
//
// The package has four parts:
//
//   - [FixedShapeType] and [Array]: the extension type and its array,
//     registered with arrow.RegisterExtensionType once (see [Register]; the
//     package's init calls it).
//   - Builders and accessors: [FromSlices], [Row], [Values], [FromImages],
//     [ToImages].
//   - Image files: [Decode], [Encode], [Convert], [Resize] (PNG and JPEG,
//     modes "RGB", "RGBA" and "L", a PIL-style bilinear resize).
//   - Parquet: pqarrow cannot write extension types whose storage is nested,
//     so tensor columns are written as their storage ([StorageSchema],
//     [StorageRecord]) with the full Arrow schema stored under the Parquet
//     key-value metadata key "ARROW:schema" ([ArrowSchemaMetadata]); on read,
//     [FromParquetMetadata] decodes that schema and [Restore] wraps the
//     storage columns back into extension arrays. [NewParquetWriter] and
//     [ReadParquet] do the whole round trip.
//
// Two pqarrow (arrow-go v18.8.0) limitations shape the Parquet part:
// FileWriter.Write rejects fixed_size_list columns with null rows ("lists
// with non-zero length null components are not supported"), and it ignores
// a fixed_size_list's array offset, silently writing the wrong rows of a
// sliced batch. [StorageRecord] rebases offsets (zero copy of values), and
// [ParquetWriter] also writes null tensors, as lists whose null rows are
// empty (the Parquet schema is the same LIST either way).
package tensor
