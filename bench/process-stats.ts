/**
 * bench/process-stats — CPU and RSS of processes on this machine, read from
 * /proc (Linux), for the per-process rows of the benchmark tables.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU seconds used so far by a process (utime + stime from /proc), NaN when gone. */
export function cpuOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds the whole machine has been busy since boot: every core's user, nice, system and interrupt
 * time (/proc/stat's first line: idle, iowait and a hypervisor's steal left out; USER_HZ is 100 on Linux), NaN where there is no /proc/stat.
 */
export function machineBusySeconds(): number {
  try {
    const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) / 100;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in bytes (VmRSS), NaN when gone. */
export function rssOf(pid: number | undefined): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Number(/(\d+)/.exec(line ?? '')?.[1]) * 1024;
  } catch {
    return NaN;
  }
}

export interface ProcessUsage {
  name: string;
  pid: number | undefined;
  /** CPU seconds per second over the window: 1.0 = one core busy. */
  cores: number;
  /** RSS at the end of the window, MiB. */
  rssMiB: number;
  /** Highest RSS sampled during the window, MiB. */
  peakRssMiB: number;
}

/** Samples CPU and RSS of named processes from `start()` to `stop()` (RSS every 500 ms). */
export class UsageWindow {
  private cpu0 = new Map<string, number>();
  private peak = new Map<string, number>();
  private t0 = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly processes: () => readonly { name: string; pid: number | undefined }[]) {}

  start(): void {
    this.t0 = performance.now();
    for (const p of this.processes()) this.cpu0.set(p.name, cpuOf(p.pid));
    this.sample();
    this.timer = setInterval(() => this.sample(), 500);
    this.timer.unref();
  }

  private sample(): void {
    for (const p of this.processes()) {
      const rss = rssOf(p.pid);
      if (Number.isFinite(rss)) this.peak.set(p.name, Math.max(this.peak.get(p.name) ?? 0, rss));
    }
  }

  stop(): ProcessUsage[] {
    clearInterval(this.timer);
    this.sample();
    const seconds = (performance.now() - this.t0) / 1000;
    const mib = (b: number) => b / 1024 / 1024;
    return this.processes().map((p) => ({
      name: p.name,
      pid: p.pid,
      cores: (cpuOf(p.pid) - (this.cpu0.get(p.name) ?? NaN)) / seconds,
      rssMiB: mib(rssOf(p.pid)),
      peakRssMiB: mib(this.peak.get(p.name) ?? NaN),
    }));
  }
}

/** The pid of the process listening on 127.0.0.1:`port` (from `ss`), or undefined. */
export function listenerPid(port: number): number | undefined {
  const out = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', timeout: 5000 });
  const pid = /pid=(\d+)/.exec(out.stdout ?? '')?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/** The machine's shared services (MariaDB 3306, Redis 6379, NATS 4222) by the ports of their URLs. */
export function servicePids(urls: {
  mysql: string;
  redis: string;
  nats: string;
}): { name: string; pid: number | undefined }[] {
  const port = (u: string, fallback: number) => Number(new URL(u).port || fallback);
  return [
    { name: 'mariadbd', pid: listenerPid(port(urls.mysql, 3306)) },
    { name: 'redis-server', pid: listenerPid(port(urls.redis, 6379)) },
    { name: 'nats-server', pid: listenerPid(port(urls.nats, 4222)) },
  ];
}
