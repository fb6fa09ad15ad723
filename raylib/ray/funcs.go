package ray

import (
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"reflect"

	"github.com/goray-dev/goray/internal/objstore"
)

// FuncTask is a remote function of any signature, called through
// reflection: any number of arguments, any number of results (each its own
// ref), an optional leading context.Context and an optional trailing error.
// The typed Remote0..Remote6 handles are faster and checked by the
// compiler; FuncTask is for signatures they do not cover.
type FuncTask struct {
	base *remoteBase
	def  *taskDef
	ctx  context.Context
	fn   reflect.Value
	in   []reflect.Type // parameters after the context, if any
}

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
	refType     = reflect.TypeFor[Ref]()
)

// RemoteFunc declares fn, a function of any signature, as a remote
// function. A problem with fn (nil, not a function, variadic) is reported
// by Err and by every call's refs.
func RemoteFunc(fn any, opts ...Option) *FuncTask {
	f := &FuncTask{fn: reflect.ValueOf(fn)}
	b := &remoteBase{name: "func", opts: opts}
	f.base = b
	var defErr error
	ft := f.fn.Type
	switch {
	case fn == nil || f.fn.Kind() == reflect.Func && f.fn.IsNil():
		b.nilFunc = true
	case f.fn.Kind() != reflect.Func:
		defErr = fmt.Errorf("ray.RemoteFunc: %T is not a function", fn)
	case ft().IsVariadic():
		defErr = fmt.Errorf("ray.RemoteFunc: %v is variadic; take a slice instead", ft())
	}
	if b.nilFunc || defErr != nil {
		b.codecs = []objstore.Codec{nil}
		b.types = []string{"invalid"}
		f.def = b.define(nil)
		if defErr != nil {
			f.def.err = defErr
		}
		return f
	}
	t := ft()
	b.name = funcName(fn)
	takesCtx := t.NumIn() > 0 && t.In(0) == contextType
	for i := 0; i < t.NumIn(); i++ {
		if i == 0 && takesCtx {
			continue
		}
		f.in = append(f.in, t.In(i))
	}
	nOut := t.NumOut()
	returnsErr := nOut > 0 && t.Out(nOut-1) == errorType
	if returnsErr {
		nOut--
	}
	if nOut == 0 { // a function with no result still gives one ref, holding nil
		b.codecs = []objstore.Codec{nil}
		b.types = []string{"struct {}"}
	}
	for i := 0; i < nOut; i++ {
		b.codecs = append(b.codecs, reflectCodec(t.Out(i)))
		b.types = append(b.types, t.Out(i).String())
	}
	fv := f.fn
	in := f.in
	b.fn = func(ctx context.Context, args []any) ([]any, error) {
		vals := make([]reflect.Value, 0, len(args)+1)
		if takesCtx {
			vals = append(vals, reflect.ValueOf(&ctx).Elem())
		}
		for i, a := range args {
			v, err := argValue(a, in[i], i)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		out := fv.Call(vals)
		if returnsErr {
			if e := out[len(out)-1]; !e.IsNil() {
				return nil, e.Interface().(error)
			}
			out = out[:len(out)-1]
		}
		res := make([]any, len(b.codecs))
		for i, o := range out {
			res[i] = o.Interface()
		}
		return res, nil
	}
	f.def = b.define(nil)
	return f
}

// argValue converts a resolved argument to the parameter's type.
func argValue(a any, want reflect.Type, i int) (reflect.Value, error) {
	if a == nil {
		return reflect.Zero(want), nil
	}
	v := reflect.ValueOf(a)
	if !v.Type().AssignableTo(want) {
		return reflect.Value{}, fmt.Errorf("argument %d is a %v, the function takes a %v", i+1, v.Type(), want)
	}
	return v, nil
}

// reflectCodec is codecFor for a type known only at run time: raw bytes,
// gob when gob keeps all of it, otherwise never spilled.
func reflectCodec(t reflect.Type) objstore.Codec {
	if t == reflect.TypeFor[[]byte]() {
		return objstore.BytesCodec{}
	}
	if !gobFaithful(t, map[reflect.Type]bool{}) {
		return nil
	}
	return anyGobCodec{t}
}

// Remote submits one call. Each argument is a value of the parameter's type
// or a ref whose value is (resolved before the call runs; a parameter whose
// type is itself a ref receives the ref). It returns one ref per result;
// view them typed with Typed.
func (f *FuncTask) Remote(args ...any) []ObjectRef[any] {
	n := f.def.numReturns
	if f.def.err == nil && len(args) != len(f.in) {
		return failedRefs(n, fmt.Errorf("ray.RemoteFunc %s: %d arguments given, it takes %d", f.def.name, len(args), len(f.in)))
	}
	slots := make([]argSlot, len(args))
	for i, a := range args {
		if r, ok := a.(Ref); ok && f.def.err == nil && !f.in[i].Implements(refType) {
			h := r.ref()
			if h == nil {
				h = failedHandle(ErrNilRef)
			}
			slots[i] = argSlot{ref: h}
			continue
		}
		if f.def.err == nil && a != nil && !reflect.TypeOf(a).AssignableTo(f.in[i]) {
			return failedRefs(n, fmt.Errorf("ray.RemoteFunc %s: argument %d is a %T, it takes a %v", f.def.name, i+1, a, f.in[i]))
		}
		slots[i] = argSlot{value: a}
	}
	hs := submitTyped(f.def, f.ctx, slots)
	out := make([]ObjectRef[any], len(hs))
	for i, h := range hs {
		out[i] = ObjectRef[any]{h: h}
	}
	return out
}

func failedRefs(n int, err error) []ObjectRef[any] {
	out := make([]ObjectRef[any], n)
	for i := range out {
		out[i] = ObjectRef[any]{h: failedHandle(err)}
	}
	return out
}

// Options returns a copy of the handle with options overridden.
func (f *FuncTask) Options(opts ...Option) *FuncTask {
	c := *f
	c.def = f.base.define(opts)
	if f.def.err != nil && c.def.err == nil {
		c.def.err = f.def.err
	}
	return &c
}

// WithContext returns a copy of the handle whose calls are cancelled when
// ctx is.
func (f *FuncTask) WithContext(ctx context.Context) *FuncTask {
	c := *f
	c.ctx = ctx
	return &c
}

// Err reports a problem with the definition.
func (f *FuncTask) Err() error { return f.def.err }

// Name is the task's name in the state API.
func (f *FuncTask) Name() string { return f.def.name }

// Typed views a ref as an ObjectRef[T]; Get checks that the object holds a
// T. It is how results of RemoteFunc become typed.
func Typed[T any](r Ref) ObjectRef[T] {
	if r == nil || r.ref() == nil {
		return ObjectRef[T]{h: failedHandle(ErrNilRef)}
	}
	return ObjectRef[T]{h: r.ref()}
}

// anyGobCodec spills values of a type known only at run time.
type anyGobCodec struct{ t reflect.Type }

func (c anyGobCodec) Encode(w io.Writer, v any) error {
	p := reflect.New(c.t) // through a *t, as Decode reads it
	if v != nil {
		p.Elem().Set(reflect.ValueOf(v))
	}
	return gob.NewEncoder(w).EncodeValue(p)
}

func (c anyGobCodec) Decode(r io.Reader) (any, error) {
	p := reflect.New(c.t)
	if err := gob.NewDecoder(r).DecodeValue(p); err != nil {
		return nil, err
	}
	return p.Elem().Interface(), nil
}
