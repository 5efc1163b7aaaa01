import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { CarriedContextManager } from './carried-context.ts';

const KEY = createContextKey('test');
const marked = (value: string) => ROOT_CONTEXT.setValue(KEY, value);
const mark = (manager: CarriedContextManager) => manager.active().getValue(KEY);

describe('tracing - carried context manager', () => {
  it('tracing - `with` makes a context active while its function runs, nested, and restores the previous one, after a throw too', () => {
    const manager = new CarriedContextManager(marked('base'));
    expect(mark(manager)).toBe('base');
    manager.with(marked('outer'), () => {
      expect(mark(manager)).toBe('outer');
      manager.with(marked('inner'), () => expect(mark(manager)).toBe('inner'));
      expect(mark(manager)).toBe('outer');
      expect(() =>
        manager.with(marked('thrown'), () => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(mark(manager)).toBe('outer');
    });
    expect(mark(manager)).toBe('base');
  });

  it('tracing - an await leaves the context behind (no async hook): the work after it sees the base context', async () => {
    const manager = new CarriedContextManager(marked('base'));
    const after = await manager.with(marked('traced'), async () => {
      expect(mark(manager)).toBe('traced');
      await Promise.resolve();
      return mark(manager);
    });
    expect(after).toBe('base');
  });

  it('tracing - `bind` runs a function in the bound context whenever it is called; other targets are returned as they are', () => {
    const manager = new CarriedContextManager();
    const bound = manager.bind(marked('bound'), (x: number) => [x, mark(manager)]);
    expect(bound(1)).toEqual([1, 'bound']);
    const emitter = { on: () => undefined };
    expect(manager.bind(marked('bound'), emitter)).toBe(emitter);
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });
});
