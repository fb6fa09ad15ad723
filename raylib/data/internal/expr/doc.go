// Package expr implements the string filter expressions of goray's Dataset,
// the equivalent of Ray Data's `col("x") > 5` expressions and of the
// pyarrow-style predicates users pass to Dataset.Filter.
//
// An expression is parsed once with [Parse] and can then be
//
//   - type checked against a schema ([Expr.Check]),
//   - evaluated vectorised over Arrow record batches ([Expr.Filter] for a
//     selection mask, [Expr.Eval] for any value), and
//   - used to prune Parquet row groups from their min/max statistics
//     ([Expr.MayMatch]).
//
// # Grammar
//
// The syntax is a Python-like subset, from lowest to highest precedence:
//
//	or  (aliases || and |)
//	and (aliases && and &)
//	not (aliases ! and ~)
//	== != < <= > >= (aliases = and <>), in (...), not in (...),
//	is null, is not null (None may replace null); comparisons chain as in
//	Python: 1 < a < 5 means 1 < a and a < 5
//	+ -
//	* / // %
//	unary -
//	literals, column names, col('name'), parentheses
//
// Column names are identifiers or backtick-quoted (`weird name`); col('x')
// is accepted too, so the canonical form printed by [Expr.String] parses
// back to the same expression. Keywords (and, or, not, in, is, null, None,
// True, False) are case-insensitive. Strings use single or double quotes
// with backslash escapes.
//
// # Semantics
//
// Numbers compare across integer and floating point types as if widened
// to float64, as pyarrow does; an integer column against a literal is
// compared exactly (x > 1.5 means x >= 2, and out-of-range literals are
// handled), and columns of different integer types compare as int64.
// Arithmetic on integers yields int64 (wrapping on overflow), except `/`,
// which is true division and yields float64 as in Python; `//` and `%` are
// floored as in Python and yield null on integer division by zero (float
// division by zero gives IEEE infinities and NaN).
// Date and timestamp columns compare against string literals such as
// '1995-01-01' or '1995-01-01 12:30:00' (timestamps without an offset are
// read as UTC). Nulls propagate: a comparison with null is null, `and` and
// `or` follow Kleene's three-valued logic, and [Expr.Filter] treats null as
// false, as SQL's WHERE does. Null elements of an `in` list match nothing.
//
// Evaluation runs typed loops over the Arrow buffers and builds bitmaps a
// byte at a time; dictionary columns are evaluated once per dictionary
// entry. An Expr is immutable and safe for concurrent use, also on a shared
// record batch. Results are allocated on the Go heap.
package expr
