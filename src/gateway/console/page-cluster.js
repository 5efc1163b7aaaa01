// The SRE's live cluster page (GET /api/v1/cluster, every 2 s): the nodes with their shard counts, and the
// shard map: which node owns each shard, at which lease epoch. A shard whose owner changed since the last
// read is marked as moved.
import { api } from './api.js';
import { h, replace, when } from './dom.js';

const POLL_MS = 2000;
const PALETTE = 8;
/** A shard that changed owner stays marked this long. */
const MOVED_MARK_MS = 60_000;

/** What the node ids share up to a separator (a cluster name, say), so the cells show what tells them apart. */
function sharedPrefix(ids) {
  if (ids.length < 2) return '';
  let prefix = ids[0];
  for (const id of ids) while (!id.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = Math.max(prefix.lastIndexOf('-'), prefix.lastIndexOf('_'), prefix.lastIndexOf('.'));
  return cut < 0 ? '' : prefix.slice(0, cut + 1);
}

export async function renderCluster(ctx) {
  const colors = new Map();
  const colorOf = (node) => {
    if (node === null) return 'none';
    if (!colors.has(node)) colors.set(node, colors.size % PALETTE);
    return String(colors.get(node));
  };
  let previous = new Map();
  const movedAt = new Map();
  const nodesBox = h('div', { id: 'cluster-nodes' });
  const mapBox = h('div', { id: 'shard-map' });
  const stamp = h('p', { class: 'counts', 'aria-live': 'polite' });

  const draw = (cluster) => {
    const owners = new Map(cluster.shards.map((sh) => [sh.shard, sh.node]));
    const now = Date.now();
    for (const [shard, node] of owners) if (previous.size > 0 && previous.get(shard) !== node) movedAt.set(shard, now);
    const prefix = sharedPrefix([...new Set([...cluster.nodes.map((n) => n.id), ...owners.values()].filter(Boolean))]);
    const unowned = cluster.shards.filter((sh) => sh.node === null).length;
    replace(
      stamp,
      `${cluster.nodes.length} node(s), ${cluster.shardCount} shards, ${unowned} unowned · read ${new Date().toLocaleTimeString()}`,
    );
    replace(
      nodesBox,
      h(
        'table',
        { class: 'nodes' },
        h('caption', {}, 'Nodes'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Node', 'Shards', 'Last seen'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          cluster.nodes.map((n) =>
            h(
              'tr',
              { 'data-node': n.id },
              h('td', {}, h('span', { class: `swatch c${colorOf(n.id)}`, 'aria-hidden': 'true' }), n.id),
              h('td', { class: 'shard-count' }, n.shards),
              h('td', {}, when(n.lastSeen)),
            ),
          ),
        ),
      ),
    );
    replace(
      mapBox,
      h(
        'ol',
        { class: 'shards', 'aria-label': 'Shard map' },
        cluster.shards.map((sh) => {
          const moved = now - (movedAt.get(sh.shard) ?? Number.NEGATIVE_INFINITY) < MOVED_MARK_MS;
          return h(
            'li',
            {
              class: `shard c${colorOf(sh.node)}${moved ? ' moved' : ''}`,
              'data-shard': sh.shard,
              'data-node': sh.node ?? '',
              'data-epoch': sh.epoch ?? '',
              tabindex: 0,
              title: `shard ${sh.shard}: ${sh.node ?? 'unowned'}, epoch ${sh.epoch ?? '—'}${moved ? ', moved' : ''}`,
              'aria-label': `shard ${sh.shard}: ${sh.node ?? 'unowned'}, epoch ${sh.epoch ?? 'none'}${moved ? ', moved' : ''}`,
            },
            h('span', { class: 'num' }, sh.shard),
            h('span', { class: 'owner' }, sh.node === null ? '—' : sh.node.slice(prefix.length)),
            h('span', { class: 'epoch' }, `e${sh.epoch ?? '–'}`),
          );
        }),
      ),
    );
    previous = owners;
  };

  let stopped = false;
  let timer;
  const poll = async () => {
    try {
      draw(await api('/cluster'));
    } catch (err) {
      ctx.showError(err);
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
  replace(
    ctx.main,
    h('h1', {}, 'Cluster'),
    stamp,
    nodesBox,
    h('section', { 'aria-labelledby': 'map-h' }, h('h2', { id: 'map-h' }, 'Shard map'), mapBox),
  );
  draw(await api('/cluster'));
  timer = setTimeout(poll, POLL_MS);
}
