package proxy

import (
	"reflect"
	"strings"
	"testing"
)

func TestImprovePanic(t *testing.T) {
	stderr := "panic: goray test panic\n\ngoroutine 1 [running]:\nmain.main()\n" +
		"\t \x1b[7m[[ Cell [3] Line 3 ]]\x1b[0m /tmp/gonb_1/main.go:12 +0xa5\nexit status 2\n"
	got, ok := improve(errorReport{EName: "ERROR", EValue: "exit status 2", Traceback: []string{"exit status 2"}}, stderr)
	want := errorReport{EName: "panic", EValue: "goray test panic", Traceback: []string{
		"panic: goray test panic", "", "goroutine 1 [running]:", "main.main()",
		"\t \x1b[7m[[ Cell [3] Line 3 ]]\x1b[0m /tmp/gonb_1/main.go:12 +0xa5",
	}}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("improve = %#v, %v\nwant %#v", got, ok, want)
	}
}

func TestImprovePanicKinds(t *testing.T) {
	for _, tc := range []struct {
		name, stderr, ename, evalue string
	}{
		{
			name: "output before the panic mentions panics",
			stderr: "panic: not this one, it is just printed\nwork\npanic: runtime error: index out of range [5] with length 3\n\n" +
				"goroutine 1 [running]:\nmain.main()\n\t/tmp/x/main.go:9 +0x1d\nexit status 2\n",
			ename: "panic", evalue: "runtime error: index out of range [5] with length 3",
		},
		{
			name:   "recovered and repanicked",
			stderr: "panic: first [recovered]\n\tpanic: second\n\ngoroutine 1 [running]:\nmain.main()\nexit status 2\n",
			ename:  "panic", evalue: "first [recovered]\n\tpanic: second",
		},
		{
			name: "fatal error with every goroutine",
			stderr: "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nmain.main()\n\n" +
				"goroutine 5 [select]:\nmain.f()\n^C\nexit status 2\n",
			ename: "fatal error", evalue: "all goroutines are asleep - deadlock!",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := improve(errorReport{EName: "ERROR", EValue: "exit status 2"}, tc.stderr)
			if !ok || got.EName != tc.ename || got.EValue != tc.evalue {
				t.Fatalf("improve = %q: %q (%v), want %q: %q", got.EName, got.EValue, ok, tc.ename, tc.evalue)
			}
			if !strings.HasPrefix(got.Traceback[0], tc.ename+": ") || !strings.Contains(strings.Join(got.Traceback, "\n"), "goroutine 1 [") {
				t.Errorf("traceback %q lacks the report or the stack", got.Traceback)
			}
			if last := got.Traceback[len(got.Traceback)-1]; last == "exit status 2" || last == "^C" || last == "" {
				t.Errorf("traceback ends with %q", last)
			}
		})
	}
}

func TestImproveLongStackIsCut(t *testing.T) {
	stderr := "fatal error: boom\n\ngoroutine 1 [running]:\n" + strings.Repeat("main.f()\n", 1000) + "exit status 2\n"
	got, _ := improve(errorReport{EValue: "exit status 2"}, stderr)
	if n := len(got.Traceback); n != maxTraceback+1 || !strings.Contains(got.Traceback[n-1], "more lines on stderr") {
		t.Errorf("traceback has %d lines, ending %q", n, got.Traceback[n-1])
	}
}

func TestImproveExitWithoutPanic(t *testing.T) {
	// log.Fatal: the reason is the last line on stderr.
	got, ok := improve(errorReport{EName: "ERROR", EValue: "exit status 1", Traceback: []string{"exit status 1"}},
		"2025/01/02 03:04:05 cannot open data.csv\nexit status 1\n")
	want := errorReport{EName: "ERROR", EValue: "exit status 1",
		Traceback: []string{"2025/01/02 03:04:05 cannot open data.csv", "exit status 1"}}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("improve = %#v, %v; want %#v", got, ok, want)
	}
	// Nothing on stderr but the status: nothing to add.
	if _, ok := improve(errorReport{EValue: "exit status 3"}, "exit status 3\n"); ok {
		t.Error("improved a report with nothing to add")
	}
}

func TestImproveLeavesOtherErrors(t *testing.T) {
	for _, r := range []errorReport{
		{EName: "ERROR", EValue: "signal: interrupt", Traceback: []string{"signal: interrupt"}},
		{EName: "ERROR", EValue: `failed to change directory: no such file`, Traceback: []string{"x"}},
	} {
		if got, ok := improve(r, "panic: x\n\ngoroutine 1 [running]:\n"); ok {
			t.Errorf("improve(%q) = %#v, want it unchanged", r.EValue, got)
		}
	}
}

func TestImproveCompileError(t *testing.T) {
	r := errorReport{
		EName:  "ERROR",
		EValue: "# gonb_9dc37d66\n./main.go:12:6: undefined: undefinedThing\n./main.go:13:2: declared and not used: z\n",
		Traceback: []string{
			"# gonb_9dc37d66",
			"Cell[1]: Line 3\nfunc main() {\n\tflag.Parse()\nx := 1\ny := undefinedThing + x\n     ^\nfmt.Println(y)\n\n\n\x1b[31mundefined: undefinedThing\x1b[0m",
			"Cell Line 4\nz := 2\n^\n\ndeclared and not used: z",
			"go: some other message",
			"",
		},
	}
	got, ok := improve(r, "")
	want := errorReport{
		EName:  "ERROR",
		EValue: "Cell[1]: Line 3: undefined: undefinedThing\nCell Line 4: declared and not used: z",
		Traceback: []string{
			"Cell[1]: Line 3\nx := 1\ny := undefinedThing + x\n     ^\nfmt.Println(y)\n\n\x1b[31mundefined: undefinedThing\x1b[0m",
			"Cell Line 4\nz := 2\n^\n\ndeclared and not used: z",
			"go: some other message",
		},
	}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("improve =\n%#v, %v\nwant\n%#v", got, ok, want)
	}
}
