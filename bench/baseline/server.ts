/**
 * bench/baseline — what a team would build without bflow: one Hono process on
 * @hono/node-server and mysql2, answering the same requests as the gateway for
 * the `approve` flow. Each command is one MySQL transaction: lock the runtime
 * row (SELECT … FOR UPDATE), check the action against its state, update the
 * state column and insert a log row, COMMIT (same durability: InnoDB, the
 * server's innodb_flush_log_at_trx_commit). A start inserts the runtime and
 * its first log row in one transaction. The caller is the token's `sub`
 * (decoded, not verified: the baseline does no auth, no idempotency, no
 * events, no tasks, no cache).
 *
 *   node --import tsx bench/baseline/server.ts --mysql mysql://root@127.0.0.1:3306/db
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import type mysql from 'mysql2/promise';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { argOf } from '../load-process.ts';
import { serveAndAnnounce } from '../server-process.ts';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS bl_runtimes (
    tenant VARCHAR(64) NOT NULL, id VARCHAR(64) NOT NULL, app VARCHAR(100) NOT NULL, doc_id VARCHAR(100) NOT NULL,
    creator VARCHAR(100) NOT NULL, doc JSON NOT NULL, state VARCHAR(32) NOT NULL, revision INT NOT NULL, updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS bl_log (
    tenant VARCHAR(64) NOT NULL, runtime_id VARCHAR(64) NOT NULL, seq INT NOT NULL, at BIGINT NOT NULL, actor VARCHAR(100) NOT NULL,
    action VARCHAR(32) NOT NULL, from_state VARCHAR(32) NOT NULL, to_state VARCHAR(32) NOT NULL, comment TEXT NULL,
    PRIMARY KEY (tenant, runtime_id, seq)) ENGINE=InnoDB`,
];

/** The purchase order's states: created → manager → finance:0 → finance:1 → approved. */
function next(state: string, action: string, actor: string, creator: string): string | undefined {
  if (action !== 'submit' && action !== 'approve') return undefined;
  if (state === 'created') return action === 'submit' && actor === creator ? 'manager' : undefined;
  if (action !== 'approve') return undefined;
  if (state === 'manager') return 'finance:0';
  if (state === 'finance:0') return 'finance:1';
  if (state === 'finance:1') return 'approved';
  return undefined;
}

function callerOf(authorization: string | undefined): { sub: string; tenant: string } {
  const payload = authorization?.split('.')[1];
  if (!payload) return { sub: 'anonymous', tenant: 'default' };
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub?: string; tid?: string };
  return { sub: claims.sub ?? 'anonymous', tenant: claims.tid ?? 'default' };
}

async function inTransaction<T>(pool: mysql.Pool, body: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  try {
    await conn.query('START TRANSACTION');
    const result = await body(conn);
    await conn.query('COMMIT');
    return result;
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}

class Refused extends Error {}

const pool = createMySqlPool(argOf('mysql'), { connectionLimit: 32 });
for (const sql of SCHEMA) await pool.query(sql);

const app = new Hono();
app.post('/api/v1/runtimes', async (c) => {
  const caller = callerOf(c.req.header('authorization'));
  const body = await c.req.json<{ app: string; docId: string; doc: unknown }>();
  const id = `rt-${randomBytes(8).toString('hex')}`;
  const now = Date.now();
  await inTransaction(pool, async (conn) => {
    await conn.query('INSERT INTO bl_runtimes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      caller.tenant,
      id,
      body.app,
      body.docId,
      caller.sub,
      JSON.stringify(body.doc),
      'created',
      1,
      now,
    ]);
    await conn.query('INSERT INTO bl_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      caller.tenant,
      id,
      1,
      now,
      caller.sub,
      'start',
      'created',
      'created',
      null,
    ]);
  });
  return c.json({ id, state: 'created', revision: 1 }, 201);
});

app.post('/api/v1/runtimes/:id/actions', async (c) => {
  const caller = callerOf(c.req.header('authorization'));
  const id = c.req.param('id');
  const body = await c.req.json<{ action: string; comment?: string }>();
  try {
    const result = await inTransaction(pool, async (conn) => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT state, revision, creator FROM bl_runtimes WHERE tenant = ? AND id = ? FOR UPDATE',
        [caller.tenant, id],
      );
      const row = rows[0];
      if (!row) throw new Refused('not_found');
      const to = next(String(row.state), body.action, caller.sub, String(row.creator));
      if (to === undefined) throw new Refused('action_not_allowed');
      const revision = Number(row.revision) + 1;
      const now = Date.now();
      await conn.query('UPDATE bl_runtimes SET state = ?, revision = ?, updated_at = ? WHERE tenant = ? AND id = ?', [
        to,
        revision,
        now,
        caller.tenant,
        id,
      ]);
      await conn.query('INSERT INTO bl_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        caller.tenant,
        id,
        revision,
        now,
        caller.sub,
        body.action,
        row.state,
        to,
        body.comment ?? null,
      ]);
      return { id, state: to, revision };
    });
    return c.json(result, 200);
  } catch (err) {
    if (err instanceof Refused) return c.json({ code: err.message }, err.message === 'not_found' ? 404 : 422);
    throw err;
  }
});

serveAndAnnounce(app);
