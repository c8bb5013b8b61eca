import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DEFAULT_APP_DIR } from '../../src/server';

/** Builds the app bundle when a test needs it and it is missing (jest alone, without `npm run build`). */
export async function ensureAppBuilt(): Promise<void> {
  if (existsSync(path.join(DEFAULT_APP_DIR, 'labeling-app.js')) && existsSync(path.join(DEFAULT_APP_DIR, 'index.html'))) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { build } = require('../../widget/build.js') as { build(options: { check: boolean }): Promise<unknown> };
  await build({ check: false });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A GET with the path exactly as given: no URL normalisation, so `../` and `%2e%2e` reach the server as an
 * attacker would send them (fetch and browsers would resolve them first).
 */
export function rawGet(port: number, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end();
  });
}

export function json(response: RawResponse): Record<string, unknown> {
  return JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
}
