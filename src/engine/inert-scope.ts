import { createActor, type AnyActorScope, type AnyStateMachine } from 'xstate';

/**
 * A reusable actor scope for pure transitions. xstate's `transition()` builds
 * a fresh actor (and runs the machine's initial transition) on every call,
 * which costs more than the step itself; a scope whose executor and emitter do
 * nothing is equally pure and can be built once per compiled machine.
 */
export function inertScope(machine: AnyStateMachine, sampleInput: unknown): AnyActorScope {
  const self = createActor(machine, { input: sampleInput });
  const scope = {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: () => {},
  };
  return scope as unknown as AnyActorScope;
}
