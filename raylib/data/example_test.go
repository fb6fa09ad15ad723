package data_test

import (
	"fmt"
	"io"

	"github.com/goray-dev/goray/raylib/data"
)

// quiet makes examples print only what they print: no progress bars, no
// execution log.
func quiet() {
	data.ResetContext()
	data.Current().Progress = false
	data.Current().Log = io.Discard
}

func squares(b *data.Batch) (*data.Batch, error) {
	ids := b.Int64s("id")
	sq := make([]int64, len(ids))
	for i, v := range ids {
		sq[i] = v * v
	}
	return b.SetColumn("square", sq), nil
}

// Range and MapBatches build a lazy pipeline; Take runs just enough of it.
func Example_mapBatches() {
	quiet()
	ds := data.Range(10).MapBatches(squares)
	fmt.Println(ds)
	rows, err := ds.Take(3)
	if err != nil {
		panic(err)
	}
	for _, r := range rows {
		fmt.Println(r["id"], r["square"])
	}
	fmt.Println(ds.Stats().Plan)
	// Output:
	// MapBatches(squares)
	// +- Dataset(num_rows=10, schema={id: int64})
	// 0 0
	// 1 1
	// 2 4
	// [InputDataBuffer[Input] TaskPoolMapOperator[ReadRange->MapBatches(squares)] LimitOperator[limit=3]]
}

// TakeBatch returns the first rows as a batch, which prints as a table.
func ExampleDataset_TakeBatch() {
	quiet()
	b, err := data.ReadCSV("../../data/animals.csv").TakeBatch(3)
	if err != nil {
		panic(err)
	}
	fmt.Println(b)
	// Output:
	//    id  animal
	// int64  string
	// -----  -------------------------------------
	//   100  a watercolor painting of a red fox
	//   101  a charcoal sketch of a humpback whale
	//   102  an oil painting of a grizzly bear
	// 3 rows × 2 columns
}

// FilterExpr filters with an expression evaluated on whole columns.
func ExampleDataset_FilterExpr() {
	quiet()
	n, err := data.ReadCSV("../../data/animals.csv").FilterExpr("id >= 150 and id < 160").Count()
	if err != nil {
		panic(err)
	}
	fmt.Println(n)
	// Output:
	// 10
}

// Schema prints as Ray prints a dataset's schema.
func ExampleDataset_Schema() {
	quiet()
	s, err := data.ReadCSV("../../data/animals.csv").Schema()
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	// Output:
	// Column  Type
	// ------  ----
	// id      int64
	// animal  string
}
