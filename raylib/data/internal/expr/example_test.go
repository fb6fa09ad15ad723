package expr_test

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/goray-dev/goray/raylib/data/internal/expr"
)

func ExampleParse() {
	e, err := expr.Parse("order_year >= 1995 and o_totalprice > 100000 and is_urgent")
	if err != nil {
		panic(err)
	}
	fmt.Println(e)
	fmt.Println(e.Columns())

	// A row group whose years span 1990..1994 cannot match and is skipped.
	stats := func(col string) (expr.Stats, bool) {
		if col == "order_year" {
			return expr.Stats{HasMinMax: true, Min: int64(1990), Max: int64(1994)}, true
		}
		return expr.Stats{}, false
	}
	fmt.Println(e.MayMatch(stats))

	_, err = expr.Parse("a >> 3")
	fmt.Println(err)
	// Output:
	// (col('order_year') >= 1995) and (col('o_totalprice') > 100000) and col('is_urgent')
	// [is_urgent o_totalprice order_year]
	// false
	// expr "a >> 3": at column 4: unexpected ">"
}

func ExampleExpr_Filter() {
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "year", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "urgent", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1994, 1996, 0, 1997}, []bool{true, true, false, true})
	b.Field(1).(*array.BooleanBuilder).AppendValues([]bool{true, true, true, false}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	mask, err := expr.MustParse("year >= 1995 and urgent").Filter(context.Background(), rec)
	if err != nil {
		panic(err)
	}
	defer mask.Release()
	fmt.Println(mask)
	// Output:
	// [false true false false]
}
