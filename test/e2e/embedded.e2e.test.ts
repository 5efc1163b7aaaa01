import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, current, expectStatus } from './api-client.ts';
import { scenariosContract } from './scenarios.contract.ts';
import { startEmbeddedStack, type BflowProcess, type Stack } from './stack.ts';

/** `bflow all` with no service configured (what `npm start` runs), over real HTTP. */
let stack: (Stack & { process: BflowProcess }) | undefined;

beforeAll(async () => {
  stack = await startEmbeddedStack();
}, 90_000);

afterAll(async () => {
  const code = await stack?.process.stop();
  expect(code).toBe(0); // SIGTERM is a graceful stop
});

const stackOf = (): Stack & { process: BflowProcess } => {
  if (!stack) throw new Error('stack not started');
  return stack;
};

describe('embedded - npm start', () => {
  it('embedded - prints the URL, a dev secret, tokens and a first request that work on the demo tenant', async () => {
    const out = stackOf().process.stdout;
    expect(out).toMatch(/listening on http:\/\/localhost:\d+/);
    const alice = /export ALICE=(\S+)/.exec(out)?.[1];
    const purMgr = /export PUR_MGR=(\S+)/.exec(out)?.[1];
    const curlBody = /-d '(\{"app":"purchase\.order"[^']*)'/.exec(out)?.[1];
    expect(alice && purMgr && curlBody).toBeTruthy();
    const asAlice = new Caller(stackOf().url, alice);
    const started = expectStatus(
      await asAlice.post('/api/v1/runtimes', JSON.parse(curlBody!)),
      201,
      'the printed curl',
    ).body;
    expect(current(started)).toEqual({ node: 'start', open: ['alice'] });
    await asAlice.do(started.id, 'submit');
    expect((await new Caller(stackOf().url, purMgr).do(started.id, 'approve')).status).toBe('approved');
  });

  it('embedded - /ready lists the in-process checks; /health is up', async () => {
    const ready = await fetch(`${stackOf().url}/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toContain('shardMap');
    expect((await fetch(`${stackOf().url}/health`)).status).toBe(200);
  });
});

scenariosContract('embedded', stackOf);
