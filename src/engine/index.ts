// The engine's public surface. Pure: no I/O, no clock, no randomness.
export * from './ids.ts';
export * from './definition-schema.ts';
export * from './directory.ts';
export * from './errors.ts';
export * from './runtime-state.ts';
export * from './commands.ts';
export * from './effects.ts';
