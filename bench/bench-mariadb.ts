/**
 * bench/bench-mariadb — the approve bench's own MariaDB: a private mariadbd
 * (mariadb-install-db into a temp dir, a free port, root without a password
 * through --skip-grant-tables) so that its CPU time and its status counters
 * are the measured system's alone, not those of other work on the machine's
 * shared server. Its InnoDB durability and memory settings are copied from the
 * shared server (`SHOW VARIABLES`) when that answers, so the two behave alike.
 *
 * What it measures over a window:
 * - CPU: mariadbd's utime + stime from /proc/<pid>/stat;
 * - statements: `Questions` of SHOW GLOBAL STATUS (every statement a client
 *   sent, each statement of a multi-statement query counted), with the
 *   `Com_*` counts by verb;
 * - transactions: InnoDB's read-write commits (`trx_rw_commits` of
 *   information_schema.INNODB_METRICS, enabled at start), i.e. transactions
 *   that changed data, whether COMMITted or autocommitted. `Handler_commit`
 *   (every statement-level commit, SELECTs included) is kept beside it.
 */
import mysql from 'mysql2/promise';
import { startPrivateMariaDb, type PrivateMariaDb } from '../test/harness/mariadb-server.ts';
import { cpuOf, listenerPid } from './process-stats.ts';
import { cleanUpOnInterrupt } from './reaper.ts';

/** Server variables copied from the shared server: InnoDB durability, memory and log, and the binlog's sync. */
export const COPIED_VARIABLES = [
  'innodb_buffer_pool_size',
  'innodb_flush_log_at_trx_commit',
  'innodb_flush_method',
  'innodb_log_file_size',
  'innodb_log_buffer_size',
  'innodb_doublewrite',
  'innodb_io_capacity',
  'innodb_autoinc_lock_mode',
  'sync_binlog',
] as const;

/** SHOW GLOBAL STATUS counters read at each end of a window. */
export const STATUS_COUNTERS = [
  'Questions',
  'Com_select',
  'Com_insert',
  'Com_insert_select',
  'Com_replace',
  'Com_update',
  'Com_update_multi',
  'Com_delete',
  'Com_begin',
  'Com_commit',
  'Com_rollback',
  'Handler_commit',
  'Bytes_received',
  'Bytes_sent',
] as const;

export type ServerCounters = Record<(typeof STATUS_COUNTERS)[number] | 'trx_rw_commits', number> & {
  /** mariadbd's CPU seconds so far. */
  cpuSeconds: number;
};

/** A server's figures per acknowledged command over one window. */
export interface DbPerCommand {
  /** mariadbd CPU µs per command. */
  cpuMicros: number;
  /** Statements (Questions) per command. */
  statements: number;
  /** InnoDB read-write commits per command. */
  transactions: number;
  /** Handler_commit per command (statement-level commits, reads included). */
  handlerCommits: number;
  /** Bytes the server received from and sent to its clients per command. */
  bytesIn: number;
  bytesOut: number;
  /** Per command, by verb: select, insert (insert, insert … select, replace), update, delete, begin, commit. */
  byVerb: Record<string, number>;
}

/** The deltas between two readings, per command (NaN when no command was acknowledged). */
export function perCommand(before: ServerCounters, after: ServerCounters, commands: number): DbPerCommand {
  const d = (k: keyof ServerCounters) => after[k] - before[k];
  const per = (n: number) => (commands > 0 ? n / commands : NaN);
  return {
    cpuMicros: per(d('cpuSeconds') * 1e6),
    statements: per(d('Questions')),
    transactions: per(d('trx_rw_commits')),
    handlerCommits: per(d('Handler_commit')),
    bytesIn: per(d('Bytes_received')),
    bytesOut: per(d('Bytes_sent')),
    byVerb: {
      select: per(d('Com_select')),
      insert: per(d('Com_insert') + d('Com_insert_select') + d('Com_replace')),
      update: per(d('Com_update') + d('Com_update_multi')),
      delete: per(d('Com_delete')),
      begin: per(d('Com_begin')),
      commit: per(d('Com_commit')),
    },
  };
}

export interface BenchMariaDb {
  /** URL naming no database. */
  url: string;
  pid: number | undefined;
  /** The settings it was started with (copied from the shared server, or mariadbd's defaults). */
  settings: Record<string, string>;
  /** Reads the counters and the CPU time now. */
  counters(): Promise<ServerCounters>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

/** The shared server's COPIED_VARIABLES, or {} when it does not answer. */
async function sharedSettings(sharedUrl: string): Promise<Record<string, string>> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({ uri: sharedUrl, connectTimeout: 2000 });
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${COPIED_VARIABLES.map(() => '?').join(', ')})`,
      [...COPIED_VARIABLES],
    );
    return Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
  } catch {
    return {};
  } finally {
    await conn?.end().catch(() => undefined);
  }
}

/**
 * Starts the private server with the shared server's settings (at `sharedUrl`), and registers its removal on
 * Ctrl-C (its process is killed and its directory removed on any exit as well).
 */
export async function startBenchMariaDb(sharedUrl: string): Promise<BenchMariaDb> {
  const settings = await sharedSettings(sharedUrl);
  const server: PrivateMariaDb = await startPrivateMariaDb({
    settings: { ...settings, innodb_monitor_enable: 'trx_rw_commits' },
  });
  const unregister = cleanUpOnInterrupt(() => server.destroy());
  const pid = listenerPid(server.port);
  const admin = await mysql.createConnection({ uri: server.url, connectTimeout: 5000 });
  const counters = async (): Promise<ServerCounters> => {
    const [status] = await admin.query<mysql.RowDataPacket[]>(
      `SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_COUNTERS.map(() => '?').join(', ')})`,
      [...STATUS_COUNTERS],
    );
    const [metrics] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT `COUNT` AS n FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rw_commits'",
    );
    const values = Object.fromEntries(status.map((r) => [String(r.Variable_name), Number(r.Value)]));
    return {
      ...(Object.fromEntries(STATUS_COUNTERS.map((k) => [k, values[k] ?? 0])) as Record<
        (typeof STATUS_COUNTERS)[number],
        number
      >),
      trx_rw_commits: Number(metrics[0]?.n ?? NaN),
      cpuSeconds: cpuOf(pid),
    };
  };
  return {
    url: server.url,
    pid,
    settings,
    counters,
    destroy: async () => {
      unregister();
      await admin.end().catch(() => undefined);
      await server.destroy();
    },
  };
}
