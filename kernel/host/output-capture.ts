import type { ParentHeader } from '../protocol';

type StreamName = 'stdout' | 'stderr';
type Write = typeof process.stdout.write;

/**
 * Sends what cell code writes to process.stdout and process.stderr (console.log included) to the front end
 * as IOPub `stream` messages, parented to the request that was being handled when it was written.
 *
 * Writes are gathered and sent once per turn of the event loop, not one message per line; {@link flush}
 * sends them at once, and the host calls it before any other IOPub message so output keeps its order.
 */
export class OutputCapture {
  private pending: { name: StreamName; parent: ParentHeader; text: string }[] = [];
  private scheduled = false;
  private restore: (() => void) | undefined;

  constructor(
    private readonly send: (name: StreamName, text: string, parent: ParentHeader) => void,
    private readonly currentParent: () => ParentHeader,
  ) {}

  /** Redirects the process streams; returns the original stderr writer, for the kernel's own log. */
  install(): (text: string) => void {
    const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
    const log = originals.stderr.bind(process.stderr) as (text: string) => boolean;
    process.stdout.write = this.writer('stdout');
    process.stderr.write = this.writer('stderr');
    this.restore = () => {
      process.stdout.write = originals.stdout;
      process.stderr.write = originals.stderr;
    };
    return (text) => void log(text);
  }

  uninstall(): void {
    this.flush();
    this.restore?.();
    this.restore = undefined;
  }

  /** Sends everything gathered so far. */
  flush(): void {
    const pending = this.pending;
    this.pending = [];
    for (const chunk of pending) this.send(chunk.name, chunk.text, chunk.parent);
  }

  private writer(name: StreamName): Write {
    return ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
      this.append(name, text);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') queueMicrotask(() => (done as (error?: Error | null) => void)(null));
      return true;
    }) as Write;
  }

  private append(name: StreamName, text: string): void {
    if (text === '') return;
    const parent = this.currentParent();
    const last = this.pending[this.pending.length - 1];
    if (last && last.name === name && last.parent === parent) last.text += text;
    else this.pending.push({ name, parent, text });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }
}
