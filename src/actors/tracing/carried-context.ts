import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

/**
 * A context manager that carries the active context only through synchronous calls: `with` makes `context`
 * active while `fn` runs, and an `await` inside `fn` leaves it behind. No async hook is ever installed, so
 * the process's promises cost what they cost untraced (on Node 20, AsyncLocalStorage, the SDK's default
 * context manager, hooks every promise of the process once one context is set: most of tracing's cost per
 * command, docs/benchmarks.md#tracing). bflow carries a command's context by hand instead, across its awaits
 * (`Tracing`): the drivers' instrumentations see it because each driver call is made inside a `with`.
 *
 * Outside any `with` the active context is `base` (a suppressed-tracing context in bflow's processes, so
 * that the drivers' instrumentations start no span for the work nobody traced).
 */
export class CarriedContextManager implements ContextManager {
  #active: Context;

  constructor(private readonly base: Context = ROOT_CONTEXT) {
    this.#active = base;
  }

  active(): Context {
    return this.#active;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.#active;
    this.#active = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#active = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const manager = this;
    return function bound(this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#active = this.base;
    return this;
  }
}
