import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KernelClient, startKernelProcess } from '../../dist/kernel/client';

/** Restart as jupyter_client does it: shutdown_request with restart, then a new process on the same connection. */
describe('kernel shutdown and restart', () => {
  const folder = mkdtempSync(path.join(tmpdir(), 'quicksort-kernel-restart-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('answers shutdown_request, exits cleanly, and a new process on the same ports starts fresh', async () => {
    const first = await startKernelProcess({ cwd: folder });
    const client = await KernelClient.connect(first.connection);
    try {
      expect((await client.execute('const kept = 41;\nkept + 1')).result).toBe('42');
      const reply = await client.request('control', 'shutdown_request', { restart: true });
      expect(reply.content).toEqual({ status: 'ok', restart: true });
      expect(await first.exited).toBe(0);
      expect(first.log()).toMatch(/shut down for a restart/);
    } finally {
      client.close();
      await first.kill();
    }

    const second = await startKernelProcess({ cwd: folder, connection: first.connection });
    const again = await KernelClient.connect(second.connection);
    try {
      const run = await again.execute('kept');
      expect(run.error?.evalue).toBe("Cannot find name 'kept'.");
      expect((run.reply.content as { execution_count: number }).execution_count).toBe(1);
      const shutdown = await again.request('shell', 'shutdown_request', { restart: false });
      expect(shutdown.content).toEqual({ status: 'ok', restart: false });
      expect(await second.exited).toBe(0);
    } finally {
      again.close();
      await second.kill();
    }
  });
});
