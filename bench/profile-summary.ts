/**
 * bench/profile-summary — the top costs of a V8 CPU profile (`node --cpu-prof`,
 * e.g. from `npm run bench -- approve --cpu-prof DIR`): self time by function
 * and by module (package, or file under src/), and inclusive time of the
 * functions whose name matches `--focus` (a regular expression).
 *
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 30] [--focus 'encodeJson|commit']
 *     [--skip-seconds S] [--seconds N]   (only the samples from S to S + N seconds after the start)
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  gcMs: number;
  byFunction: [string, number][];
  byModule: [string, number][];
  focus: [string, number][];
}

function moduleOf(url: string): string {
  if (url === '') return '(native/vm)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

/** Self time per node id, of the samples between `fromMs` and `untilMs` after the profile's start. */
function selfTimes(profile: CpuProfile, fromMs: number, untilMs: number): Map<number, number> {
  const self = new Map<number, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    const delta = (profile.timeDeltas[i] ?? 0) / 1000;
    t += delta;
    if (t >= fromMs && t < untilMs) self.set(id, (self.get(id) ?? 0) + delta);
  });
  return self;
}

export function summariseProfile(
  profile: CpuProfile,
  top = 30,
  focus?: RegExp,
  fromMs = 0,
  untilMs = Infinity,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = selfTimes(profile, fromMs, untilMs);
  const fnKey = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  const focusTotals = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    total += ms;
    if (f.functionName === '(idle)') idle += ms;
    if (f.functionName === '(garbage collector)') gc += ms;
    byFunction.set(fnKey(f), (byFunction.get(fnKey(f)) ?? 0) + ms);
    if (f.functionName !== '(idle)') byModule.set(moduleOf(f.url), (byModule.get(moduleOf(f.url)) ?? 0) + ms);
    if (focus) {
      // Inclusive: charge each matching ancestor (once per distinct name on the stack).
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = byId.get(at)!.callFrame;
        const key = fnKey(frame);
        if (focus.test(frame.functionName) && !seen.has(key)) {
          seen.add(key);
          focusTotals.set(key, (focusTotals.get(key) ?? 0) + ms);
        }
      }
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    totalMs: total,
    idleMs: idle,
    gcMs: gc,
    byFunction: sorted(byFunction),
    byModule: sorted(byModule),
    focus: sorted(focusTotals),
  };
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: bench/profile-summary.ts FILE.cpuprofile [--top N] [--focus REGEX]');
  const at = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const fromMs = Number(at('--skip-seconds') ?? 0) * 1000;
  const untilMs = at('--seconds') ? fromMs + Number(at('--seconds')) * 1000 : Infinity;
  const s = summariseProfile(
    JSON.parse(readFileSync(file, 'utf8')) as CpuProfile,
    Number(at('--top') ?? 30),
    at('--focus') ? new RegExp(at('--focus')!) : undefined,
    fromMs,
    untilMs,
  );
  const busy = s.totalMs - s.idleMs;
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  console.log(
    `${file}: ${(s.totalMs / 1000).toFixed(1)} s sampled, busy ${(busy / 1000).toFixed(1)} s, GC ${pct(s.gcMs)} of busy`,
  );
  console.log('\nself time by module (share of busy):');
  for (const [k, ms] of s.byModule) console.log(`  ${pct(ms)}  ${k}`);
  console.log('\nself time by function:');
  for (const [k, ms] of s.byFunction) if (!k.startsWith('(idle)')) console.log(`  ${pct(ms)}  ${k}`);
  if (s.focus.length > 0) {
    console.log('\ninclusive time of focused functions:');
    for (const [k, ms] of s.focus) console.log(`  ${pct(ms)}  ${k}`);
  }
}
