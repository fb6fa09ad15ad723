package display_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/goray-dev/goray/raylib/display"
	"github.com/goray-dev/goray/raylib/ray"
)

func ExampleTable() {
	t := &display.Table{
		Title:   "Animals",
		Columns: []display.Column{{"name", "string"}, {"legs", "int64"}, {"weight", "double"}, {"pet", "bool"}},
	}
	t.AddRow("cat", 4, 4.5, true)
	t.AddRow("sparrow", 2, 0.03, false)
	t.AddRow("tardigrade", 8, 1e-07, false)
	display.ShowTo(os.Stdout, t)
	// Output:
	// Animals
	// name         legs  weight  pet
	// string      int64  double  bool
	// ----------  -----  ------  -----
	// cat             4     4.5  true
	// sparrow         2    0.03  false
	// tardigrade      8   1e-07  false
	// 3 rows × 4 columns
}

func ExampleCSVPreview() {
	path := filepath.Join(os.TempDir(), "display-example-animals.csv")
	data := "name,legs,weight\ncat,4,4.5\ndog,4,30\nsnake,0,2.5\nspider,8,0.001\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(path)

	t, err := display.CSVPreview(path, 2)
	if err != nil {
		log.Fatal(err)
	}
	t.Title = "animals.csv" // the temporary directory varies
	display.ShowTo(os.Stdout, t)
	// Output:
	// animals.csv
	// name     legs  weight
	// string  int64  double
	// ------  -----  ------
	// cat         4     4.5
	// dog         4      30
	// showing 2 of 4 rows
}

func ExampleDisplay() {
	// A Display with an HTML hook stands for a notebook; Default gives the
	// one of this process.
	notebook := display.Display{HTML: func(html string) { fmt.Println(len(html) > 0) }}
	notebook.Show(&display.Table{Columns: []display.Column{{Name: "x"}}})
	notebook.Show("plain values print as text")
	// Output:
	// true
	// plain values print as text
}

func ExampleProgress() {
	// A fake clock makes the rates reproducible; Out is not a terminal, so
	// only the plan and the final lines are written.
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	d := display.Display{Out: os.Stdout, Now: func() time.Time { return now }}
	p := display.NewProgress(d, "Running dataset", []string{"ReadCSV", "MapBatches(ImageGen)", "Write"})
	p.Update(0, display.OperatorState{Rows: 1000, TotalRows: 1000, Done: true})
	p.Update(1, display.OperatorState{Rows: 600, TotalRows: 1000, ActiveTasks: 4, Backpressured: true})
	p.Update(2, display.OperatorState{Rows: 500})
	p.Finish(2 * time.Second)
	// Output:
	// Running dataset
	// Execution plan: ReadCSV -> MapBatches(ImageGen) -> Write
	// ReadCSV              100% [############] 1000/1000 rows, 500 rows/s
	// MapBatches(ImageGen)  60% [#######.....] 600/1000 rows, 300 rows/s
	// Write                     [............] 500 rows, 250 rows/s
	// execution finished in 2.00 seconds
}

func ExampleResources() {
	// In a program: display.Show(display.Resources(ray.ClusterResources(), ray.AvailableResources())).
	total := map[string]float64{"CPU": 8, "GPU": 1, "object_store_memory": 2 << 30}
	available := map[string]float64{"CPU": 6, "GPU": 0.4, "object_store_memory": 1.5 * (1 << 30)}
	display.ShowTo(os.Stdout, display.Resources(total, available))
	// Output:
	// Resources
	// resource             total    available  in use
	// -------------------  -------  ---------  ---------
	// CPU                  8        6          2
	// GPU                  1        0.4        0.6
	// object_store_memory  2.0 GiB  1.5 GiB    512.0 MiB
	// 3 rows × 4 columns
}

func ExampleObjects() {
	// In a program: display.Show(display.Objects(ray.ListObjects())).
	display.ShowTo(os.Stdout, display.Objects([]ray.ObjectInfo{{
		ID: "00000001000000000001", Size: 80, Status: "IN_MEMORY", ReferenceType: "LOCAL_REFERENCE",
		CallSite: "main.go:12 main.main", Type: "[]int", Source: "PUT",
	}}))
	display.ShowTo(os.Stdout, display.Objects(nil))
	// Output:
	// Objects in the object store
	// object id             size  status     reference type   call site             type   source
	// --------------------  ----  ---------  ---------------  --------------------  -----  ------
	// 00000001000000000001  80 B  IN_MEMORY  LOCAL_REFERENCE  main.go:12 main.main  []int  PUT
	// 1 row × 7 columns
	// total size 80 B
	// Objects in the object store
	// object id  size  status  reference type  call site  type  source
	// ---------  ----  ------  --------------  ---------  ----  ------
	// 0 rows × 7 columns
	// no objects
}

func ExampleTaskSummary() {
	// In a program: display.Show(display.TaskSummary(ray.SummarizeTasks())).
	display.ShowTo(os.Stdout, display.TaskSummary([]ray.TaskSummary{
		{Name: "slowSquare", Kind: ray.NormalTask, States: map[ray.TaskState]int{ray.Finished: 8}},
		{Name: "Counter.Increment", Kind: ray.ActorTask, States: map[ray.TaskState]int{ray.Finished: 3, ray.Running: 1}},
	}))
	// Output:
	// Task summary
	// name               type         RUNNING  FINISHED  total
	// -----------------  -----------  -------  --------  -----
	// slowSquare         NORMAL_TASK  0        8         8
	// Counter.Increment  ACTOR_TASK   1        3         4
	// 2 rows × 5 columns
	// 12 tasks
}
