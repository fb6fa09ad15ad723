package display_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/goray-dev/goray/raylib/display"
	"github.com/goray-dev/goray/raylib/ray"
)

// initRay starts a fresh runtime for the test and stops it at the end.
func initRay(t *testing.T, opts ...ray.Option) {
	t.Helper()
	if err := ray.Shutdown(); err != nil {
		t.Logf("shutdown of a leftover runtime: %v", err)
	}
	if err := ray.Init(opts...); err != nil {
		t.Fatalf("ray.Init: %v", err)
	}
	t.Cleanup(func() {
		if err := ray.Shutdown(); err != nil {
			t.Errorf("ray.Shutdown: %v", err)
		}
	})
}

func TestObjectsEmpty(t *testing.T) {
	initRay(t, ray.NumCPUs(2))
	tab := display.Objects(ray.ListObjects())
	if tab.Title != "Objects in the object store" || len(tab.Rows) != 0 || len(tab.Columns) != 7 {
		t.Errorf("empty store: %+v", tab)
	}
	text := tab.String()
	if !strings.Contains(text, "0 rows × 7 columns\nno objects") {
		t.Errorf("empty store text:\n%s", text)
	}
	if !strings.Contains(tab.HTML(), "no objects") {
		t.Errorf("empty store HTML lacks 'no objects'")
	}
}

func TestObjects(t *testing.T) {
	initRay(t, ray.NumCPUs(2))
	ref := ray.Put(make([]byte, 3000))
	defer runtime.KeepAlive(ref)
	objs := ray.ListObjects()
	tab := display.Objects(objs)
	if len(tab.Rows) != len(objs) || len(objs) == 0 {
		t.Fatalf("%d objects, %d rows", len(objs), len(tab.Rows))
	}
	var row []display.Cell
	for _, r := range tab.Rows {
		if r[0].Text == ref.ID() {
			row = r
		}
	}
	if row == nil {
		t.Fatalf("no row for %s in\n%s", ref.ID(), tab)
	}
	want := map[int]string{2: "IN_MEMORY", 5: "[]uint8", 6: "PUT"}
	for c, w := range want {
		if row[c].Text != w {
			t.Errorf("column %s = %q, want %q", tab.Columns[c].Name, row[c].Text, w)
		}
	}
	if !strings.HasSuffix(row[1].Text, " KiB") {
		t.Errorf("size %q should have units", row[1].Text)
	}
	if !strings.HasPrefix(tab.Footer, "total size ") {
		t.Errorf("footer %q", tab.Footer)
	}
	if !strings.Contains(tab.String(), ref.ID()) || !strings.Contains(tab.HTML(), ref.ID()) {
		t.Errorf("the object id should show")
	}
}

func TestResources(t *testing.T) {
	total := map[string]float64{"CPU": 4, "GPU": 1, "memory": 2 << 30, "accel": 2}
	avail := map[string]float64{"CPU": 2.5, "GPU": 0.4, "memory": 1 << 30, "accel": 2}
	tab := display.Resources(total, avail)
	want := [][]string{
		{"CPU", "4", "2.5", "1.5"},
		{"GPU", "1", "0.4", "0.6"},
		{"accel", "2", "2", "0"},
		{"memory", "2.0 GiB", "1.0 GiB", "1.0 GiB"},
	}
	if len(tab.Rows) != len(want) {
		t.Fatalf("rows:\n%s", tab)
	}
	for r, w := range want {
		for c := range w {
			if tab.Rows[r][c].Text != w[c] {
				t.Errorf("row %d col %d = %q, want %q", r, c, tab.Rows[r][c].Text, w[c])
			}
		}
	}

	initRay(t, ray.NumCPUs(3))
	live := display.Resources(ray.ClusterResources(), ray.AvailableResources())
	if len(live.Rows) == 0 || live.Rows[0][0].Text != "CPU" || live.Rows[0][1].Text != "3" {
		t.Errorf("live resources:\n%s", live)
	}
	if empty := display.Resources(nil, nil); len(empty.Rows) != 0 || empty.Footer == "" {
		t.Errorf("no resources: %+v", empty)
	}
}

func TestTaskSummary(t *testing.T) {
	initRay(t, ray.NumCPUs(2))
	double := ray.Remote1(func(x int) int { return 2 * x }, ray.Name("dsDouble"))
	refs := make([]ray.ObjectRef[int], 3)
	for i := range refs {
		refs[i] = double.Remote(i)
	}
	if _, err := ray.GetAll(refs); err != nil {
		t.Fatal(err)
	}
	tab := display.TaskSummary(ray.SummarizeTasks())
	var names []string
	for _, c := range tab.Columns {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "name,type,FINISHED,total" {
		t.Errorf("columns %s", got)
	}
	found := false
	for _, r := range tab.Rows {
		if r[0].Text == "dsDouble" {
			found = true
			if r[1].Text != "NORMAL_TASK" || r[2].Text != "3" || r[3].Text != "3" {
				t.Errorf("row %v", r)
			}
		}
	}
	if !found {
		t.Errorf("no dsDouble row in\n%s", tab)
	}

	// States come in life order, whatever the map order.
	sums := []ray.TaskSummary{{Name: "f", Kind: ray.NormalTask,
		States: map[ray.TaskState]int{ray.FailedState: 1, ray.Running: 2, ray.PendingArgsAvail: 3, "NEW_STATE": 4}}}
	tab = display.TaskSummary(sums)
	lines := strings.Split(tab.String(), "\n")
	if lines[1] != "name  type         PENDING_ARGS_AVAIL  RUNNING  FAILED  NEW_STATE  total" ||
		lines[3] != "f     NORMAL_TASK  3                   2        1       4          10" {
		t.Errorf("summary:\n%s", tab)
	}
	if tab.Footer != "10 tasks" {
		t.Errorf("footer %q", tab.Footer)
	}
}

func TestStoreStats(t *testing.T) {
	initRay(t, ray.NumCPUs(2), ray.ObjectStoreMemory(1<<20))
	ref := ray.Put(make([]byte, 4096))
	defer runtime.KeepAlive(ref)
	tab := display.StoreStats(ray.StoreStats())
	got := map[string]string{}
	for _, r := range tab.Rows {
		got[r[0].Text] = r[1].Text
	}
	if got["objects"] != "1" || got["budget"] != "1.0 MiB" || !strings.Contains(got["in memory"], "% of budget") {
		t.Errorf("store stats:\n%s", tab)
	}
}
