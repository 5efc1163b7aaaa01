// The analyst's view of one workflow (GET /analytics/workflows/{id}): time in stage (p50 and p90) and SLA
// breaches per node, as SVG bar charts with the figures in a table beside them.
import { api } from './api.js';
import { duration, h, replace, s } from './dom.js';

const BAR_W = 360;
const ROW_H = 26;
const LABEL_W = 170;

/** A horizontal bar chart: one row per item, one bar per series. */
function barChart(title, items, series, format) {
  const max = Math.max(1, ...items.flatMap((it) => series.map((se) => se.value(it) ?? 0)));
  const barH = (ROW_H - 6) / series.length;
  const height = items.length * ROW_H + 24;
  return s(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${LABEL_W + BAR_W + 90} ${height}`,
      width: LABEL_W + BAR_W + 90,
      height,
      role: 'img',
      'aria-label': title,
    },
    s('title', {}, title),
    items.map((it, row) => [
      s(
        'text',
        { x: LABEL_W - 8, y: row * ROW_H + ROW_H / 2 + 4, 'text-anchor': 'end', class: 'axis' },
        it.title ?? it.node,
      ),
      series.map((se, k) => {
        const v = se.value(it) ?? 0;
        const w = (v / max) * BAR_W;
        const y = row * ROW_H + 3 + k * barH;
        return s(
          'g',
          { class: `bar ${se.class}`, 'data-node': it.node },
          s('title', {}, `${it.title ?? it.node}, ${se.name}: ${format(se.value(it))}`),
          s('rect', { x: LABEL_W, y, width: Math.max(w, v > 0 ? 1 : 0), height: barH - 1 }),
          s('text', { x: LABEL_W + w + 4, y: y + barH - 3, class: 'value' }, format(se.value(it))),
        );
      }),
    ]),
    series.map((se, k) =>
      s(
        'g',
        { class: `bar ${se.class}` },
        s('rect', { x: LABEL_W + k * 110, y: height - 16, width: 10, height: 10 }),
        s('text', { x: LABEL_W + k * 110 + 14, y: height - 7, class: 'axis' }, se.name),
      ),
    ),
  );
}

export async function renderAnalytics(ctx) {
  const [id] = ctx.params;
  const a = await api(`/analytics/workflows/${encodeURIComponent(id)}`);
  const tasks = a.nodes;
  replace(
    ctx.main,
    h('p', {}, h('a', { href: `#/workflows/${encodeURIComponent(id)}` }, '← Workflow')),
    h('h1', {}, `Analytics `, h('small', {}, id)),
    h(
      'p',
      { class: 'counts' },
      `${a.sample.runtimes} runtime(s) counted${a.sample.truncated ? ` (the newest ${a.sample.limit} only)` : ''}`,
      a.version ? ` · version ${a.version}` : '',
    ),
    h(
      'section',
      { 'aria-labelledby': 'tis-h' },
      h('h2', { id: 'tis-h' }, 'Time in stage'),
      barChart(
        'Time in stage per node',
        tasks,
        [
          { name: 'p50', class: 'p50', value: (n) => n.timeInStage.p50Ms },
          { name: 'p90', class: 'p90', value: (n) => n.timeInStage.p90Ms },
        ],
        duration,
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'sla-h' },
      h('h2', { id: 'sla-h' }, 'SLA breaches'),
      barChart(
        'SLA breaches per node',
        tasks,
        [{ name: 'breaches', class: 'breach', value: (n) => n.slaBreaches }],
        String,
      ),
    ),
    h(
      'table',
      { class: 'analytics' },
      h('caption', {}, 'Per node'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Node', 'Entered', 'Open', 'Exited', 'p50', 'p90', 'SLA breaches'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        tasks.map((n) =>
          h(
            'tr',
            { 'data-node': n.node },
            h('td', {}, n.title ?? n.node),
            h('td', {}, n.entered),
            h('td', {}, n.open),
            h(
              'td',
              {},
              Object.entries(n.exited)
                .map(([k, v]) => `${k}: ${v}`)
                .join(', '),
            ),
            h('td', {}, duration(n.timeInStage.p50Ms)),
            h('td', {}, duration(n.timeInStage.p90Ms)),
            h('td', {}, n.slaBreaches),
          ),
        ),
      ),
    ),
  );
}
