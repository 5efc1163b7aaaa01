// The SRE's live cluster page (GET /api/v1/cluster, every 2 s): the nodes with their shard counts, and the
// shard map: which node owns each shard, at which lease epoch. A shard whose owner changed since the last
// read is marked as moved.
import { api } from './api.js';
import { h, replace, when } from './dom.js';

const POLL_MS = 2000;
const PALETTE = 8;

export async function renderCluster(ctx) {
  const colors = new Map();
  const colorOf = (node) => {
    if (node === null) return 'none';
    if (!colors.has(node)) colors.set(node, colors.size % PALETTE);
    return String(colors.get(node));
  };
  let previous = new Map();
  const nodesBox = h('div', { id: 'cluster-nodes' });
  const mapBox = h('div', { id: 'shard-map' });
  const stamp = h('p', { class: 'counts', 'aria-live': 'polite' });

  const draw = (cluster) => {
    const owners = new Map(cluster.shards.map((sh) => [sh.shard, sh.node]));
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
          const moved = previous.size > 0 && previous.get(sh.shard) !== sh.node;
          return h(
            'li',
            {
              class: `shard c${colorOf(sh.node)}${moved ? ' moved' : ''}`,
              'data-shard': sh.shard,
              'data-node': sh.node ?? '',
              'data-epoch': sh.epoch ?? '',
              tabindex: 0,
              title: `shard ${sh.shard}: ${sh.node ?? 'unowned'}, epoch ${sh.epoch ?? '—'}`,
            },
            h('span', { class: 'num' }, sh.shard),
            h('span', { class: 'owner' }, sh.node ?? '—'),
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
