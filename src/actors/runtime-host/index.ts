/** Runtime actors: one XState actor per runtime, its mailbox, activation, commands, starts and replies. */
export { DirectoryCache, StartDefinitionCache, WorkflowCache } from './definition-caches.ts';
export { RuntimeHost, type TimerToDeliver } from './runtime-host.ts';
export type {
  HostRuntimeStore,
  RuntimeHostDeps,
  RuntimeHostOptions,
  StepTrace,
  TraceStep,
} from './runtime-host-options.ts';
