import mysql from 'mysql2/promise';
import { Counter, type Registry } from 'prom-client';
import { formatSql } from './sql-format.ts';

export interface MySqlPoolOptions {
  /** Max open connections. @default 16 */
  connectionLimit?: number;
  /** TCP connect timeout. @default 5000 */
  connectTimeoutMs?: number;
  /** Max queued connection requests before failing fast (0 = unbounded). @default 0 */
  queueLimit?: number;
  /**
   * Allow several statements in one query (one round trip). Only for a pool whose every query is built from
   * placeholders (the transition writer's): it widens what an injected string could do. @default false
   */
  multipleStatements?: boolean;
}

const multiStatementPools = new WeakSet<object>();

/** Whether `pool` was created with `multipleStatements` (its queries may hold several statements). */
export function allowsMultipleStatements(pool: object): boolean {
  return multiStatementPools.has(pool);
}

/** Default per-query timeout; pass it as `{ sql, timeout }` on every query. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/**
 * A mysql2 pool with the settings every bflow connection needs: UTC, utf8mb4,
 * big numbers as strings when they overflow, one statement per query unless
 * `multipleStatements`, placeholders filled by {@link formatSql}.
 */
export function createMySqlPool(url: string, options: MySqlPoolOptions = {}): mysql.Pool {
  const u = new URL(url);
  const pool = mysql.createPool({
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    connectionLimit: options.connectionLimit ?? 16,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    queueLimit: options.queueLimit ?? 0,
    waitForConnections: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4_bin',
    multipleStatements: options.multipleStatements ?? false,
    enableKeepAlive: true,
    // No async stack capture per query (~15 µs of client CPU each): our errors carry their own context.
    trace: false,
    queryFormat: (sql: string, values: unknown) => formatSql(sql, values, 'Z'),
  });
  pool.on('connection', (conn) => countStatementsOf(conn as unknown as CountedConnection));
  pool.on('enqueue', () => mysqlStatementCounts.poolWaits++);
  if (options.multipleStatements) multiStatementPools.add(pool);
  return pool;
}

/**
 * What this process's pools sent to MySQL, counted per statement as it is sent
 * (all pools together). A transaction is an explicit `START TRANSACTION` or a
 * write outside one (autocommit); a read is a `SELECT`, keyed by its first
 * table and by whether it ran inside a transaction. Exposed by
 * {@link registerMySqlStatementMetrics}; the benchmarks divide them by commands.
 */
export interface MySqlStatementCounts {
  statements: number;
  /** Queries sent (round trips): fewer than statements where a query holds several. */
  queries: number;
  transactions: number;
  commits: number;
  rollbacks: number;
  /** INSERT / UPDATE / DELETE / REPLACE statements. */
  writes: number;
  /** `table` or `table in_tx` → SELECTs. */
  reads: Map<string, number>;
  /** Connection requests that found every connection of their pool busy and waited in its queue. */
  poolWaits: number;
  /** `VERB table` (e.g. `DELETE timers`, `COMMIT`) → [statements, seconds from sent to answered]. */
  timings: Map<string, [number, number]>;
}

export const mysqlStatementCounts: MySqlStatementCounts = {
  statements: 0,
  queries: 0,
  transactions: 0,
  commits: 0,
  rollbacks: 0,
  writes: 0,
  reads: new Map(),
  poolWaits: 0,
  timings: new Map(),
};

interface CountedConnection {
  query(...args: unknown[]): unknown;
  execute(...args: unknown[]): unknown;
}

/** The statement's first word; a UNION of parenthesised SELECTs (CoalescedReads) counts as its SELECT. */
const FIRST_WORD = /^[\s(]*(\w+)/;
const FROM_TABLE = /\bFROM\s+`?(\w+)/i;
const WRITTEN_TABLE = /^\s*(?:INSERT\s+(?:IGNORE\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+`?(\w+)/i;

function sqlOf(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  const sql = (arg as { sql?: unknown } | null)?.sql;
  return typeof sql === 'string' ? sql : '';
}

/** Wraps one connection's query/execute to count what it sends (additive: behaviour unchanged). */
function countStatementsOf(conn: CountedConnection): void {
  let inTransaction = false;
  /** Counts `sql`; returns its timing key. */
  const count = (sql: string): string => {
    const c = mysqlStatementCounts;
    c.statements++;
    const word = FIRST_WORD.exec(sql)?.[1]?.toUpperCase() ?? '?';
    if (word === 'START' || word === 'BEGIN') {
      inTransaction = true;
      c.transactions++;
    } else if (word === 'COMMIT' || word === 'ROLLBACK') {
      inTransaction = false;
      if (word === 'COMMIT') c.commits++;
      else c.rollbacks++;
    } else if (word === 'SELECT') {
      const table = FROM_TABLE.exec(sql)?.[1] ?? 'none';
      const key = inTransaction ? `${table} in_tx` : table;
      c.reads.set(key, (c.reads.get(key) ?? 0) + 1);
      return `SELECT ${table}`;
    } else if (word === 'INSERT' || word === 'UPDATE' || word === 'DELETE' || word === 'REPLACE') {
      c.writes++;
      if (!inTransaction) c.transactions++;
      return `${word} ${WRITTEN_TABLE.exec(sql)?.[1] ?? '?'}`;
    }
    return word;
  };
  /** Times a sent command (a mysql2 Command: an EventEmitter that emits `end`). */
  const timed = (key: string, command: unknown): unknown => {
    const started = performance.now();
    (command as { once?: (event: string, listener: () => void) => void } | undefined)?.once?.('end', () => {
      const t = mysqlStatementCounts.timings.get(key) ?? [0, 0];
      t[0]++;
      t[1] += (performance.now() - started) / 1000;
      mysqlStatementCounts.timings.set(key, t);
    });
    return command;
  };
  /** Counts each statement of a query (several, `;`-separated, on a multipleStatements pool; placeholders keep values out of the text). */
  const countAll = (sql: string): string => {
    mysqlStatementCounts.queries++;
    const parts = sql.includes(';') ? sql.split(';').filter((part) => part.trim() !== '') : [sql];
    const keys = parts.map(count);
    return keys.length > 1 ? `MULTI ${keys[0]}` : (keys[0] ?? '?');
  };
  const query = conn.query;
  const execute = conn.execute;
  conn.query = function (this: unknown, ...args: unknown[]) {
    const key = countAll(sqlOf(args[0]));
    return timed(key, query.apply(this, args));
  };
  conn.execute = function (this: unknown, ...args: unknown[]) {
    const key = count(sqlOf(args[0]));
    return timed(key, execute.apply(this, args));
  };
}

/**
 * Registers the statement counts as Prometheus counters:
 * `bflow_mysql_statements_total`, `bflow_mysql_queries_total`, `bflow_mysql_transactions_total`,
 * `bflow_mysql_writes_total`, `bflow_mysql_pool_waits_total`,
 * `bflow_mysql_reads_total{table,in_transaction}`.
 */
export function registerMySqlStatementMetrics(registry: Registry): void {
  const c = mysqlStatementCounts;
  const total = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  total('bflow_mysql_statements_total', 'Statements sent to MySQL by this process', () => c.statements);
  total(
    'bflow_mysql_queries_total',
    'Queries (round trips) sent to MySQL by this process; one may hold several statements',
    () => c.queries,
  );
  total(
    'bflow_mysql_transactions_total',
    'MySQL transactions begun: START TRANSACTION, or a write outside one (autocommit)',
    () => c.transactions,
  );
  total('bflow_mysql_commits_total', 'COMMIT statements sent to MySQL', () => c.commits);
  total('bflow_mysql_writes_total', 'INSERT, UPDATE, DELETE and REPLACE statements sent to MySQL', () => c.writes);
  total(
    'bflow_mysql_pool_waits_total',
    'Connection requests that waited for a free pool connection',
    () => c.poolWaits,
  );
  new Counter({
    name: 'bflow_mysql_statement_seconds_total',
    help: 'Seconds from sending a statement to its answer, summed, by verb and table',
    labelNames: ['statement'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [statement, [, seconds]] of c.timings) this.inc({ statement }, seconds);
    },
  });
  new Counter({
    name: 'bflow_mysql_statements_by_kind_total',
    help: 'Statements sent to MySQL by verb and table (the counts behind bflow_mysql_statement_seconds_total)',
    labelNames: ['statement'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [statement, [n]] of c.timings) this.inc({ statement }, n);
    },
  });
  new Counter({
    name: 'bflow_mysql_reads_total',
    help: 'SELECT statements sent to MySQL, by first table and whether inside a transaction',
    labelNames: ['table', 'in_transaction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of c.reads) {
        const [table = 'none', tx] = key.split(' ');
        this.inc({ table, in_transaction: tx ? 'true' : 'false' }, n);
      }
    },
  });
}

/** Parses a JSON column: MariaDB returns JSON as a string, MySQL 8 as an object. */
export function parseJsonColumn<T = unknown>(value: unknown): T {
  if (value === null || value === undefined) return value as T;
  if (typeof value === 'string') return JSON.parse(value) as T;
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as T;
  return value as T;
}

/** Same URL pointing at another database (or none when `database` is ''). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = database ? `/${encodeURIComponent(database)}` : '';
  return u.toString();
}
