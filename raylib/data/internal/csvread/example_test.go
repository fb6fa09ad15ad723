package csvread_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/goray-dev/goray/raylib/data/internal/csvread"
)

// Example infers a schema, splits the file into ranges and reads one
// projection of it. The string column keeps "NA" as text while the float
// column reads it (and the empty field) as null, as pyarrow does.
func Example() {
	dir, err := os.MkdirTemp("", "csvread-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "animals.csv")
	err = os.WriteFile(path, []byte("id,name,weight,legs\n"+
		"1,cat,4.5,4\n"+
		"2,\"spider, house\",0.001,8\n"+
		"3,snake,,0\n"+
		"4,NA,NA,2\n"), 0o644)
	if err != nil {
		panic(err)
	}

	opts := csvread.Options{Columns: []string{"name", "weight"}}
	schema, err := csvread.Infer(path, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println(schema)

	ranges, err := csvread.Split(path, 64<<20)
	if err != nil {
		panic(err)
	}
	for _, r := range ranges {
		rd, err := csvread.NewReader(r, schema, opts)
		if err != nil {
			panic(err)
		}
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				panic(err)
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				fmt.Printf("%s: %s\n", rec.Column(0).ValueStr(i), rec.Column(1).ValueStr(i))
			}
			rec.Release()
		}
		rd.Close()
	}
	// Output:
	// schema:
	//   fields: 4
	//     - id: type=int64, nullable
	//     - name: type=utf8, nullable
	//     - weight: type=float64, nullable
	//     - legs: type=int64, nullable
	// cat: 4.5
	// spider, house: 0.001
	// snake: (null)
	// NA: (null)
}
