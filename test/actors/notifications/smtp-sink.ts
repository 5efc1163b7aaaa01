import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One message the sink accepted (answered 250 on a connection still open). */
export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  dedupeKey: string;
  /** The name the client gave in EHLO (bflow sends `bflow-<node id>`). */
  client: string;
}

/**
 * A real SMTP server in process (npm smtp-server), parsing each message with
 * mailparser. `acceptDelayMs` holds each message before its 250 (a slow relay,
 * to kill a sender mid-delivery); a message whose connection closed before
 * the 250 is not counted as received, as its sender never learnt it was.
 */
export class SmtpSink {
  readonly received: ReceivedMail[] = [];
  /** Set while the sink answers 451 to every message (a relay outage). */
  failing = false;
  /** Messages waiting for their 250 while the sink holds (see `hold`), by EHLO name. */
  readonly held: string[] = [];
  /** EHLO names of the connections that sent a message and are still open, by session id. */
  private readonly openConnections = new Map<string, string>();
  #release: Promise<void> | undefined;
  #open: (() => void) | undefined;

  /** From now on each message waits before its 250 until `release()`. */
  hold(): void {
    this.#release ??= new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open?.();
    this.#release = undefined;
  }

  /** Whether a connection of this EHLO name that sent a message is still open (a killed sender's socket closes late). */
  connected(client: string): boolean {
    return [...this.openConnections.values()].includes(client);
  }

  /** What a message waits for before its 250 (resolved when not holding). */
  get gate(): Promise<void> {
    return this.#release ?? Promise.resolve();
  }

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  /**
   * `countOnly`: keep the envelope and the X-Bflow-Dedupe-Key header only, without parsing the MIME body (the
   * benchmark's sink: parsing would take CPU from the processes measured).
   */
  static async start(options: { acceptDelayMs?: number; countOnly?: boolean } = {}): Promise<SmtpSink> {
    const closed = new Set<string>();
    let sink: SmtpSink | undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onClose: (session) => {
        closed.add(session.id);
        sink?.openConnections.delete(session.id);
      },
      onData: (stream, session, callback) => {
        if (!closed.has(session.id)) sink?.openConnections.set(session.id, session.hostNameAppearsAs);
        if (options.countOnly) {
          let head = '';
          stream.on('data', (d: Buffer) => {
            if (head.length < 8192) head += d.toString('latin1');
          });
          stream.on('end', () => {
            sink?.received.push({
              to: session.envelope.rcptTo.map((r) => r.address),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: '',
              text: '',
              html: '',
              messageId: '',
              dedupeKey: /^X-Bflow-Dedupe-Key: (.*)$/im.exec(head)?.[1]?.trim() ?? '',
              client: session.hostNameAppearsAs,
            });
            callback();
          });
          return;
        }
        simpleParser(stream)
          .then(async (mail) => {
            if (sink?.failing) {
              const err = Object.assign(new Error('try again later'), { responseCode: 451 });
              return callback(err);
            }
            if (options.acceptDelayMs) await new Promise((r) => setTimeout(r, options.acceptDelayMs));
            const client = session.hostNameAppearsAs;
            if (sink) {
              sink.held.push(client);
              await sink.gate;
              sink.held.splice(sink.held.indexOf(client), 1);
            }
            if (closed.has(session.id)) return callback(new Error('gone'));
            const header = mail.headers.get('x-bflow-dedupe-key');
            sink?.received.push({
              to: session.envelope.rcptTo.map((r) => r.address),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: mail.subject ?? '',
              text: mail.text ?? '',
              html: typeof mail.html === 'string' ? mail.html : '',
              messageId: mail.messageId ?? '',
              dedupeKey: typeof header === 'string' ? header : '',
              client,
            });
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo).port;
    sink = new SmtpSink(server, port);
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
