package ray

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/goray-dev/goray/internal/objstore"
	"github.com/goray-dev/goray/internal/resources"
)

//go:generate go run ./internal/gen

// remoteBase is what a remote-function handle keeps so that Options can
// derive a new definition from the same function.
type remoteBase struct {
	fn      invokeFunc
	name    string
	opts    []Option
	codecs  []objstore.Codec
	types   []string
	nilFunc bool
	plain   bool // fn takes no context: calls run without one of their own
}

// define builds the taskDef of a handle from its function and options.
func (b *remoteBase) define(extra []Option) *taskDef {
	opts := append(append([]Option(nil), b.opts...), extra...)
	def := &taskDef{name: b.name, invoke: b.fn, numReturns: len(b.codecs), codecs: b.codecs, types: b.types, plain: b.plain}
	if b.nilFunc {
		def.err = errors.New("ray.Remote: the function is nil")
		return def
	}
	c := newConfig(scopeTask)
	if err := c.applyAll(opts); err != nil {
		def.err = fmt.Errorf("ray.Remote %s: %w", b.name, err)
		return def
	}
	req, err := requestFromConfig(c, 1)
	if err != nil {
		def.err = fmt.Errorf("ray.Remote %s: %w", b.name, err)
		return def
	}
	if c.name != "" {
		def.name = c.name
	}
	def.request = req
	def.class = req.Key()
	def.maxRetries = c.maxRetries
	def.retryOn = c.retryExceptions
	return def
}

// requestFromConfig turns the resource options into a validated request;
// defaultCPU applies when NumCPUs is not given.
func requestFromConfig(c config, defaultCPU float64) (resources.Set, error) {
	m := make(map[string]float64, 4)
	for k, v := range c.resources {
		m[k] = v
	}
	if _, given := m[resources.CPU]; !given || c.numCPUs != nil {
		cpu := defaultCPU
		if c.numCPUs != nil {
			cpu = *c.numCPUs
		}
		m[resources.CPU] = cpu
	}
	if c.numGPUs != nil {
		m[resources.GPU] = *c.numGPUs
	}
	if c.memory != nil {
		m[resources.Memory] = *c.memory
	}
	set, err := resources.ParseSet(m)
	if err != nil {
		return nil, err
	}
	if err := resources.ValidateRequest(set); err != nil {
		return nil, err
	}
	return set, nil
}

var funcNames sync.Map // uintptr -> string

// funcName returns a short name for a function value: the package-local
// name (main.processImage becomes processImage, methods keep their type).
func funcName(fn any) string {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return "nil"
	}
	pc := v.Pointer()
	if n, ok := funcNames.Load(pc); ok {
		return n.(string)
	}
	name := "func"
	if f := goruntime.FuncForPC(pc); f != nil {
		name = f.Name()
	}
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.Index(name, "."); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSuffix(name, "-fm")
	funcNames.Store(pc, name)
	return name
}

// methodName returns the method's own name from a method expression such
// as (*Counter).Increment.
func methodName(fn any) string {
	n := funcName(fn)
	if i := strings.LastIndex(n, "."); i >= 0 {
		return n[i+1:]
	}
	return n
}

// submitTyped submits one call of a handle and returns its first ref.
func submitTyped(def *taskDef, ctx context.Context, args []argSlot) []*handle {
	pc := callerPC(3)
	r, err := rt()
	if err != nil {
		hs := make([]*handle, def.numReturns)
		for i := range hs {
			hs[i] = failedHandle(err)
		}
		return hs
	}
	return r.submit(def, args, ctx, pc)
}

var (
	errNilConstructor = errors.New("ray.NewActor: the constructor is nil")
	errNilMethod      = errors.New("ray.Call: the method is nil")
)

// argAs converts a resolved argument to its declared type; a nil interface
// becomes the zero value.
func argAs[A any](v any) A {
	if v == nil {
		var zero A
		return zero
	}
	return v.(A)
}

func codecsOf[R any]() []objstore.Codec { return []objstore.Codec{codecFor[R]()} }
func typesOf[R any]() []string          { return []string{typeName[R]()} }
