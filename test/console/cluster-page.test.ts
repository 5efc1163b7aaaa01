import { afterAll, beforeAll, expect, it } from 'vitest';
import { signToken } from '../../src/app/dev-token.ts';
import { type ClusterStack, CLUSTER_SHARDS, startClusterStack } from '../e2e/stack.ts';
import { waitFor } from '../harness/wait.ts';
import { type ConsoleBrowser, openBrowser, signInWithToken } from './browser.ts';

/**
 * The console's cluster page against a real cluster (two `bflow node` processes and a `bflow gateway` on
 * MariaDB and NATS): it shows who owns each shard with its epoch, and shows the shards move when a node stops.
 */

let stack: ClusterStack;
let browser: ConsoleBrowser;

beforeAll(async () => {
  stack = await startClusterStack('console-cluster');
  browser = await openBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

type ShardCell = { shard: number; node: string; epoch: string; moved: boolean };

function readMap(): Promise<ShardCell[]> {
  return browser.page.$$eval('li.shard', (cells) =>
    cells.map((c) => ({
      shard: Number(c.getAttribute('data-shard')),
      node: c.getAttribute('data-node') ?? '',
      epoch: c.getAttribute('data-epoch') ?? '',
      moved: c.classList.contains('moved'),
    })),
  );
}

it('console - the cluster page shows the shard map and a shard move when a node is stopped', async () => {
  const { page } = browser;
  const admin = await signToken(stack.secret, { sub: 'sre', tid: 't-console', roles: ['admin'] }, 3600);
  await signInWithToken(page, stack.url, admin);
  await page.getByRole('link', { name: 'Cluster' }).click();
  const [stopped, survivor] = stack.nodes.map((n) => `${stack.cluster}-${n.id}`) as [string, string];

  // Both nodes hold shards, every shard has an owner and an epoch.
  const before = await waitFor(
    async () => {
      const cells = await readMap();
      const owners = new Set(cells.map((c) => c.node));
      return cells.length === CLUSTER_SHARDS &&
        owners.has(stopped) &&
        owners.has(survivor) &&
        cells.every((c) => c.epoch)
        ? cells
        : undefined;
    },
    { deadlineMs: 20_000, intervalMs: 200, what: 'the shard map of both nodes' },
  );
  expect(await page.locator(`table.nodes tr[data-node="${stopped}"]`).count()).toBe(1);
  await browser.screenshot('cluster');

  const movedShards = before.filter((c) => c.node === stopped).map((c) => c.shard);
  await stack.nodes[0]!.stop();

  // The page, polling on its own, shows every shard of the stopped node under the survivor, with a new epoch.
  const after = await waitFor(
    async () => {
      const cells = await readMap();
      return cells.length === CLUSTER_SHARDS && cells.every((c) => c.node === survivor) ? cells : undefined;
    },
    { deadlineMs: 30_000, intervalMs: 200, what: `every shard shown under ${survivor}` },
  );
  for (const shard of movedShards) {
    const was = before.find((c) => c.shard === shard)!;
    const now = after.find((c) => c.shard === shard)!;
    expect(now.epoch).not.toBe(was.epoch);
  }
  // The moved shards are marked as such.
  expect(
    after
      .filter((c) => c.moved)
      .map((c) => c.shard)
      .sort((a, b) => a - b),
  ).toEqual([...movedShards].sort((a, b) => a - b));
  await waitFor(async () => (await page.locator(`table.nodes tr[data-node="${stopped}"]`).count()) === 0, {
    deadlineMs: 30_000,
    intervalMs: 200,
    what: `${stopped} gone from the node list`,
  });
  await browser.screenshot('cluster-after-stop');
  expect(browser.pageErrors).toEqual([]);
}, 120_000);
