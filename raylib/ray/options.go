package ray

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Option configures Init, a remote function or an actor. Each option says
// which of those it applies to; passing it elsewhere is an error that names
// it.
type Option interface {
	apply(*config) error
}

type optionFunc struct {
	name  string
	scope scope
	f     func(*config) error
}

func (o optionFunc) apply(c *config) error {
	if c.scope&o.scope == 0 {
		return fmt.Errorf("option %s does not apply to %s", o.name, c.scope)
	}
	return o.f(c)
}

type scope int

const (
	scopeInit scope = 1 << iota
	scopeTask
	scopeActor
)

func (s scope) String() string {
	switch s {
	case scopeInit:
		return "Init"
	case scopeTask:
		return "a remote function"
	case scopeActor:
		return "an actor"
	}
	return "this call"
}

// config gathers every option; which fields matter depends on the scope.
type config struct {
	scope scope

	numCPUs   *float64
	numGPUs   *float64
	memory    *float64
	resources map[string]float64

	// Init only.
	objectStoreMemory *int64
	namespace         string
	ignoreReinit      bool
	spillDir          string
	taskHistory       int

	// Tasks.
	maxRetries      int
	retryExceptions func(error) bool
	name            string

	// Actors.
	maxConcurrency int
	maxRestarts    int
	maxTaskRetries int
	getIfExists    bool
}

func newConfig(s scope) config {
	c := config{scope: s, maxRetries: 3, maxConcurrency: 1}
	return c
}

func (c *config) applyAll(opts []Option) error {
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func nonNegative(name string, v float64) error {
	if v < 0 || v != v {
		return fmt.Errorf("option %s: %v must be a non-negative number", name, v)
	}
	return nil
}

// NumCPUs sets the CPUs of the local node (Init) or the CPUs a task or actor
// holds while it runs. Tasks default to 1, actors to 0 (as in Ray).
func NumCPUs(n float64) Option {
	return optionFunc{"NumCPUs", scopeInit | scopeTask | scopeActor, func(c *config) error {
		if err := nonNegative("NumCPUs", n); err != nil {
			return err
		}
		c.numCPUs = &n
		return nil
	}}
}

// NumGPUs sets the GPU devices of the local node (Init, a whole number) or
// the GPUs a task or actor holds: a fraction in (0, 1] shares one device,
// larger requests must be whole. Precision is 0.0001.
func NumGPUs(n float64) Option {
	return optionFunc{"NumGPUs", scopeInit | scopeTask | scopeActor, func(c *config) error {
		if err := nonNegative("NumGPUs", n); err != nil {
			return err
		}
		c.numGPUs = &n
		return nil
	}}
}

// Memory sets the logical memory resource in bytes: the node's total (Init)
// or what a task or actor reserves.
func Memory(bytes float64) Option {
	return optionFunc{"Memory", scopeInit | scopeTask | scopeActor, func(c *config) error {
		if err := nonNegative("Memory", bytes); err != nil {
			return err
		}
		c.memory = &bytes
		return nil
	}}
}

// Resources are custom resources: the node's (Init) or a request (tasks,
// actors). CPU, GPU and memory may be given here too.
type Resources map[string]float64

func (r Resources) apply(c *config) error {
	if c.resources == nil {
		c.resources = make(map[string]float64, len(r))
	}
	for k, v := range r {
		if err := nonNegative(fmt.Sprintf("Resources[%q]", k), v); err != nil {
			return err
		}
		c.resources[k] = v
	}
	return nil
}

// ObjectStoreMemory sets the object store's budget in bytes (Init only);
// beyond it objects spill to disk. The default is 30% of system memory.
func ObjectStoreMemory(bytes int64) Option {
	return optionFunc{"ObjectStoreMemory", scopeInit, func(c *config) error {
		if bytes <= 0 {
			return fmt.Errorf("option ObjectStoreMemory: %d must be positive", bytes)
		}
		c.objectStoreMemory = &bytes
		return nil
	}}
}

// Namespace sets the namespace of named actors (Init only).
func Namespace(ns string) Option {
	return optionFunc{"Namespace", scopeInit, func(c *config) error { c.namespace = ns; return nil }}
}

// IgnoreReinitError makes a second Init a no-op instead of an error.
func IgnoreReinitError() Option {
	return optionFunc{"IgnoreReinitError", scopeInit, func(c *config) error { c.ignoreReinit = true; return nil }}
}

// SpillDir sets where spilled objects are written (Init only); the default
// is the system's temporary folder. The runtime removes its files at
// Shutdown.
func SpillDir(dir string) Option {
	return optionFunc{"SpillDir", scopeInit, func(c *config) error { c.spillDir = dir; return nil }}
}

// TaskHistory sets how many finished tasks the state API and the timeline
// remember (Init only; default 10,000).
func TaskHistory(n int) Option {
	return optionFunc{"TaskHistory", scopeInit, func(c *config) error {
		if n < 0 {
			return fmt.Errorf("option TaskHistory: %d is negative", n)
		}
		c.taskHistory = n
		return nil
	}}
}

// MaxRetries sets how often a task is retried after it crashes (panics),
// and after errors chosen by RetryExceptions or RetryOn. The default is 3;
// -1 retries forever.
func MaxRetries(n int) Option {
	return optionFunc{"MaxRetries", scopeTask, func(c *config) error {
		if n < -1 {
			return fmt.Errorf("option MaxRetries: %d must be -1 (forever) or more", n)
		}
		c.maxRetries = n
		return nil
	}}
}

// RetryExceptions makes every error a task returns retryable (by default
// only crashes are retried, as in Ray).
func RetryExceptions() Option {
	return optionFunc{"RetryExceptions", scopeTask, func(c *config) error {
		c.retryExceptions = func(error) bool { return true }
		return nil
	}}
}

// RetryOn retries the errors for which errors.Is matches one of targets.
func RetryOn(targets ...error) Option {
	return optionFunc{"RetryOn", scopeTask, func(c *config) error {
		if len(targets) == 0 {
			return fmt.Errorf("option RetryOn: no errors given")
		}
		c.retryExceptions = func(err error) bool {
			for _, t := range targets {
				if errors.Is(err, t) {
					return true
				}
			}
			return false
		}
		return nil
	}}
}

// RetryIf retries the errors for which pred returns true.
func RetryIf(pred func(error) bool) Option {
	return optionFunc{"RetryIf", scopeTask, func(c *config) error {
		if pred == nil {
			return fmt.Errorf("option RetryIf: nil predicate")
		}
		c.retryExceptions = pred
		return nil
	}}
}

// Name names a task (shown by the state API and the timeline) or an actor
// (found again with GetActor).
func Name(name string) Option {
	return optionFunc{"Name", scopeTask | scopeActor, func(c *config) error {
		if name == "" {
			return fmt.Errorf("option Name: empty name")
		}
		c.name = name
		return nil
	}}
}

// MaxConcurrency lets a threaded actor run up to n calls at once (default
// 1: calls run one at a time in submission order).
func MaxConcurrency(n int) Option {
	return optionFunc{"MaxConcurrency", scopeActor, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("option MaxConcurrency: %d must be at least 1", n)
		}
		c.maxConcurrency = n
		return nil
	}}
}

// MaxRestarts sets how often an actor is restarted after its constructor or
// a method panics (default 0; -1 forever).
func MaxRestarts(n int) Option {
	return optionFunc{"MaxRestarts", scopeActor, func(c *config) error {
		if n < -1 {
			return fmt.Errorf("option MaxRestarts: %d must be -1 (forever) or more", n)
		}
		c.maxRestarts = n
		return nil
	}}
}

// MaxTaskRetries sets how often a call that was running when its actor
// crashed is retried on the restarted actor (default 0; -1 forever).
func MaxTaskRetries(n int) Option {
	return optionFunc{"MaxTaskRetries", scopeActor, func(c *config) error {
		if n < -1 {
			return fmt.Errorf("option MaxTaskRetries: %d must be -1 (forever) or more", n)
		}
		c.maxTaskRetries = n
		return nil
	}}
}

// GetIfExists returns the live named actor of the same name instead of
// failing when one exists (Ray's get_if_exists).
func GetIfExists() Option {
	return optionFunc{"GetIfExists", scopeActor, func(c *config) error { c.getIfExists = true; return nil }}
}

// GetOption configures Get, GetAll and Wait.
type GetOption func(*getConfig)

type getConfig struct {
	ctx     context.Context
	timeout time.Duration
}

// Timeout bounds how long Get waits; past it Get returns a *GetTimeoutError.
func Timeout(d time.Duration) GetOption { return func(c *getConfig) { c.timeout = d } }

// WithContext lets ctx cancel a Get.
func WithContext(ctx context.Context) GetOption { return func(c *getConfig) { c.ctx = ctx } }
