/** The connection settings a `mysql://user:password@host:port/database` URL names. */
export interface MySqlUrlParts {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string | undefined;
}

/** Reads a `mysql://` URL: user `root` and port 3306 when absent; user, password and database URL-decoded. */
export function parseMySqlUrl(url: string): MySqlUrlParts {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
  };
}

/** Same URL pointing at another database (or none when `database` is ''). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = database ? `/${encodeURIComponent(database)}` : '';
  return u.toString();
}
