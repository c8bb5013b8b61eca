import sharp from 'sharp';
import { createVlmClient, promptImage, VlmConfigError, VlmError, type PromptImage, type VlmClient, type VlmConfig, type VlmRequest, type VlmRetryEvent } from '../../src/vlm';
import { parseRetryAfter } from '../../src/vlm/client-failures';
import { startFakeVlm, type FakeVlm } from './fake-vlm-server';

/**
 * The VLM client against the loopback fake VLM (both dialects, both layouts, every failure), or — when
 * QUICKSORT_VLM_URL and QUICKSORT_VLM_MODEL are set — one real round trip against that server, with the
 * fake-only assertions skipped. Which server was used is printed.
 */

const REAL_URL = process.env.QUICKSORT_VLM_URL?.trim() || undefined;
const REAL_MODEL = process.env.QUICKSORT_VLM_MODEL?.trim() || undefined;
const REAL = REAL_URL !== undefined && REAL_MODEL !== undefined;
const fakeOnly = REAL ? describe.skip : describe;

async function solid(r: number, g: number, b: number, side = 64): Promise<PromptImage> {
  const png = await sharp({ create: { width: side, height: side, channels: 3, background: { r, g, b } } }).png().toBuffer();
  return promptImage(png, 448);
}
const dataUrl = (image: PromptImage): string => `data:image/jpeg;base64,${Buffer.from(image.data).toString('base64')}`;
const b64 = (image: PromptImage): string => Buffer.from(image.data).toString('base64');

let fake: FakeVlm;
let red: PromptImage;
let blue: PromptImage;
let reddish: PromptImage;
const clients: VlmClient[] = [];

beforeAll(async () => {
  fake = await startFakeVlm();
  [red, blue, reddish] = await Promise.all([solid(230, 20, 20), solid(20, 20, 230), solid(200, 40, 30)]);
  console.log(REAL ? `client.test: against the REAL VLM server ${REAL_URL} (model "${REAL_MODEL}", dialect ${process.env.QUICKSORT_VLM_DIALECT ?? 'openai'}); fake-only tests skipped` : `client.test: against the loopback fake VLM at ${fake.url} (set QUICKSORT_VLM_URL and QUICKSORT_VLM_MODEL for a real server)`);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await fake.close();
});

function client(config: Partial<VlmConfig> = {}, onRetry?: (event: VlmRetryEvent) => void): VlmClient {
  const made = createVlmClient({ url: fake.url, model: 'fake-vl', timeoutMs: 5_000, ...config }, { backoffMs: 1, onRetry });
  clients.push(made);
  return made;
}

const labelSchema = { type: 'object', properties: { label: { type: 'string', anyOf: [{ enum: ['red', 'blue'] }, { pattern: '^other: .+$' }] } }, required: ['label'], additionalProperties: false };

function colourRequest(query: PromptImage = reddish): VlmRequest {
  return {
    system: 'You name colours.',
    examples: [
      { image: blue, answer: '{"label":"blue"}' },
      { image: red, question: 'And this one?', answer: '{"label":"red"}' },
    ],
    question: 'Which colour is it?',
    images: [query],
    schema: { name: 'colour', schema: labelSchema },
    maxTokens: 20,
    logprobs: true,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<VlmError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VlmError);
  return error as VlmError;
}

const lastRequest = () => fake.requests[fake.requests.length - 1]!;

fakeOnly('wire format: exactly the expected requests', () => {
  test('OpenAI, interleaved: one user message — question, image, Answer per demonstration, then question and query', async () => {
    const answer = await client({ layout: 'interleaved' }).complete(colourRequest());
    expect(lastRequest().body).toEqual({
      model: 'fake-vl',
      stream: false,
      temperature: 0,
      max_tokens: 20,
      logprobs: true,
      response_format: { type: 'json_schema', json_schema: { name: 'colour', schema: labelSchema, strict: true } },
      messages: [
        { role: 'system', content: 'You name colours.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Which colour is it?' },
            { type: 'image_url', image_url: { url: dataUrl(blue) } },
            { type: 'text', text: 'Answer: {"label":"blue"}' },
            { type: 'text', text: 'And this one?' },
            { type: 'image_url', image_url: { url: dataUrl(red) } },
            { type: 'text', text: 'Answer: {"label":"red"}' },
            { type: 'text', text: 'Which colour is it?' },
            { type: 'image_url', image_url: { url: dataUrl(reddish) } },
          ],
        },
      ],
    });
    expect(lastRequest().path).toBe('/v1/chat/completions');
    expect(answer.json).toEqual({ label: 'red' });
    expect(answer.text).toBe('{"label":"red"}');
    expect(answer.attempts).toBe(1);
    expect(answer.usage!.promptTokens).toBeGreaterThan(0);
    expect(answer.usage!.completionTokens).toBeGreaterThan(0);
    // The fake gives the value's tokens log(confidence) and the JSON's structure ~log(0.999): the client reads the value's.
    expect(answer.confidence).toBeCloseTo(lastRequest().reply!.confidence!, 6);
  });

  test('OpenAI, per-message: a user turn and an assistant turn per demonstration', async () => {
    const answer = await client({ layout: 'per-message' }).complete(colourRequest(blue));
    const body = lastRequest().body as { messages: unknown[] };
    expect(body.messages).toEqual([
      { role: 'system', content: 'You name colours.' },
      { role: 'user', content: [{ type: 'text', text: 'Which colour is it?' }, { type: 'image_url', image_url: { url: dataUrl(blue) } }] },
      { role: 'assistant', content: '{"label":"blue"}' },
      { role: 'user', content: [{ type: 'text', text: 'And this one?' }, { type: 'image_url', image_url: { url: dataUrl(red) } }] },
      { role: 'assistant', content: '{"label":"red"}' },
      { role: 'user', content: [{ type: 'text', text: 'Which colour is it?' }, { type: 'image_url', image_url: { url: dataUrl(blue) } }] },
    ]);
    expect(answer.json).toEqual({ label: 'blue' });
  });

  test('Ollama, per-message: bare base64 in images, format is the schema, stream false, options', async () => {
    const answer = await client({ url: fake.ollamaUrl, dialect: 'ollama', layout: 'per-message' }).complete(colourRequest());
    expect(lastRequest().path).toBe('/api/chat');
    expect(lastRequest().body).toEqual({
      model: 'fake-vl',
      stream: false,
      format: labelSchema,
      logprobs: true,
      options: { temperature: 0, num_predict: 20 },
      messages: [
        { role: 'system', content: 'You name colours.' },
        { role: 'user', content: 'Which colour is it?', images: [b64(blue)] },
        { role: 'assistant', content: '{"label":"blue"}' },
        { role: 'user', content: 'And this one?', images: [b64(red)] },
        { role: 'assistant', content: '{"label":"red"}' },
        { role: 'user', content: 'Which colour is it?', images: [b64(reddish)] },
      ],
    });
    expect(answer.json).toEqual({ label: 'red' });
    expect(answer.usage).toEqual({ promptTokens: expect.any(Number), completionTokens: expect.any(Number) });
    expect(answer.confidence).toBeCloseTo(lastRequest().reply!.confidence!, 6);
  });

  test('Ollama, interleaved: one message, images in order, numbered text with Answer lines', async () => {
    const answer = await client({ url: fake.ollamaUrl, dialect: 'ollama', layout: 'interleaved' }).complete(colourRequest());
    const body = lastRequest().body as { messages: unknown[] };
    expect(body.messages).toEqual([
      { role: 'system', content: 'You name colours.' },
      {
        role: 'user',
        content: 'Image 1: Which colour is it?\nAnswer: {"label":"blue"}\n\nImage 2: And this one?\nAnswer: {"label":"red"}\n\nImage 3: Which colour is it?',
        images: [b64(blue), b64(red), b64(reddish)],
      },
    ]);
    expect(answer.json).toEqual({ label: 'red' });
  });

  test('free text: no schema, no json; no demonstrations gives the fake caption; a new class is "other: NAME"', async () => {
    const free = await client().complete({ examples: [{ image: red, answer: 'a red square' }, { image: blue, answer: 'a blue square' }], question: 'Describe it.', images: [reddish] });
    expect(free).toMatchObject({ text: 'a red square', confidence: null });
    expect(free.json).toBeUndefined();
    expect((lastRequest().body as Record<string, unknown>).response_format).toBeUndefined();
    const other = await client().complete({ ...colourRequest(), examples: [{ image: red, answer: 'crimson' }] });
    expect(other.json).toEqual({ label: 'other: crimson' });
  });

  test('the API key is sent as a bearer token and never shown', async () => {
    const guarded = await startFakeVlm({ apiKey: 'sk-secret-123' });
    try {
      const good = createVlmClient({ url: guarded.url, model: 'm', apiKey: 'sk-secret-123' });
      await good.complete(colourRequest());
      expect(guarded.requests[0]!.headers.authorization).toBe('Bearer sk-secret-123');
      expect(JSON.stringify(good.config)).not.toContain('sk-secret');
      const bad = createVlmClient({ url: guarded.url, model: 'm', apiKey: 'sk-wrong-456' });
      const error = await failureOf(bad.complete(colourRequest()));
      expect(error).toMatchObject({ failure: 'refused', status: 401, attempts: 1, code: 'VLM', url: guarded.url, model: 'm' });
      expect(error.message).toContain('QUICKSORT_VLM_API_KEY');
      expect(error.message).not.toContain('sk-wrong');
    } finally {
      await guarded.close();
    }
  });

  test('a bad setting is a VlmConfigError naming it', () => {
    expect(() => createVlmClient({ url: fake.url, model: 'm', concurrency: 0 })).toThrow(VlmConfigError);
    expect(() => createVlmClient({ url: fake.url, model: 'm', concurrency: 0 })).toThrow(/createVlmClient\.concurrency must be an integer from 1/);
    expect(() => createVlmClient({ url: 'ftp://x', model: 'm' })).toThrow(/createVlmClient\.url/);
  });
});

fakeOnly('failures: retried or not, a clear status each', () => {
  test('a server that never answers is a timeout after the retries', async () => {
    const before = fake.requests.length;
    fake.hang(3);
    const retries: VlmRetryEvent[] = [];
    const error = await failureOf(client({ timeoutMs: 150, retries: 2 }, (e) => retries.push(e)).complete(colourRequest()));
    expect(error).toMatchObject({ failure: 'timeout', attempts: 3, status: null });
    expect(error.message).toMatch(/did not answer within 150 ms \(3 attempts\).*QUICKSORT_VLM_TIMEOUT_MS/);
    expect(retries.map((r) => r.failure)).toEqual(['timeout', 'timeout']);
    expect(fake.requests.slice(before).map((r) => r.outcome)).toEqual(['hung', 'hung', 'hung']);
  });

  test('429 with Retry-After, then an answer: the wait is the server\'s, the attempts are counted', async () => {
    fake.failNext(1, { status: 429, retryAfterMs: 30 });
    const retries: VlmRetryEvent[] = [];
    const answer = await client({}, (e) => retries.push(e)).complete(colourRequest());
    expect(answer.attempts).toBe(2);
    expect(retries).toEqual([{ attempt: 1, failure: 'rate_limited', status: 429, delayMs: 30, reason: 'injected failure 429' }]);
  });

  test('a Retry-After longer than the client waits fails rate_limited at once', async () => {
    fake.failNext(1, { status: 429, retryAfterS: 600 });
    const error = await failureOf(client().complete(colourRequest()));
    expect(error).toMatchObject({ failure: 'rate_limited', attempts: 1, status: 429 });
    expect(error.message).toMatch(/asks to wait 600 s/);
  });

  test('5xx then an answer; 5xx past the retries is server_error with the last status', async () => {
    fake.failNext(1, { status: 500 });
    fake.failNext(1, { status: 503 });
    expect((await client().complete(colourRequest())).attempts).toBe(3);
    fake.failNext(4, { status: 502 });
    const error = await failureOf(client({ retries: 3 }).complete(colourRequest()));
    expect(error).toMatchObject({ failure: 'server_error', attempts: 4, status: 502 });
  });

  test('a dropped connection, then an answer', async () => {
    fake.dropConnection(1);
    const retries: VlmRetryEvent[] = [];
    const answer = await client({}, (e) => retries.push(e)).complete(colourRequest());
    expect(answer).toMatchObject({ attempts: 2, json: { label: 'red' } });
    expect(retries.map((r) => r.failure)).toEqual(['connection']);
  });

  test('nothing listening is a connection failure after the retries', async () => {
    const gone = await startFakeVlm();
    await gone.close();
    const error = await failureOf(createVlmClient({ url: gone.url, model: 'm', retries: 1 }, { backoffMs: 1 }).complete(colourRequest()));
    expect(error).toMatchObject({ failure: 'connection', attempts: 2 });
    expect(error.message).toMatch(/connection refused.*QUICKSORT_VLM_URL/);
  });

  test('malformed JSON where JSON was asked is bad_answer, not retried', async () => {
    const before = fake.requests.length;
    fake.malformed(1);
    const error = await failureOf(client().complete(colourRequest()));
    expect(error).toMatchObject({ failure: 'bad_answer', attempts: 1 });
    expect(error.message).toMatch(/schema "colour".*not the JSON asked for.*Sure! The answer is/);
    expect(fake.requests.length - before).toBe(1);
  });

  test('an answer naming an unknown class is parsed as it came: the caller judges it', async () => {
    fake.answerUnknownClass(1);
    expect((await client().complete(colourRequest())).json).toEqual({ label: 'zebra-unicorn' });
  });

  test('400 is refused at once, without a retry', async () => {
    const before = fake.requests.length;
    fake.failNext(1, { status: 400 });
    const error = await failureOf(client().complete(colourRequest()));
    expect(error).toMatchObject({ failure: 'refused', attempts: 1, status: 400 });
    expect(error.message).toContain(`${fake.url}/chat/completions`);
    expect(fake.requests.length - before).toBe(1);
  });

  test('a request the wire check rejects comes back refused with the server\'s message naming the field', async () => {
    const tooLarge = await client().complete({ examples: [], question: 'q', images: [red], maxTokens: 0 }).catch((e: unknown) => e as VlmError);
    expect(tooLarge).toMatchObject({ failure: 'refused', status: 400 });
    expect((tooLarge as VlmError).message).toContain('max_tokens: must be a positive integer');
  });
});

fakeOnly('queue: concurrency, cancellation, close', () => {
  test('no more than `concurrency` requests are in flight', async () => {
    const server = await startFakeVlm();
    try {
      const limited = createVlmClient({ url: server.url, model: 'm', concurrency: 3 });
      server.hold();
      const answers = Array.from({ length: 8 }, (_, i) => limited.complete(colourRequest(i % 2 ? red : blue)));
      // Let one answer at a time: each frees a slot, and the next queued request takes it.
      for (let left = 8; left > 0; left--) {
        await server.whenHeld(Math.min(3, left));
        server.release(1);
      }
      const labels = (await Promise.all(answers)).map((a) => (a.json as { label: string }).label);
      expect(labels).toEqual(['blue', 'red', 'blue', 'red', 'blue', 'red', 'blue', 'red']);
      expect(server.maxInFlight).toBe(3);
      expect(server.requests).toHaveLength(8);
    } finally {
      await server.close();
    }
  });

  test('a signal cancels a request in flight, and a queued one before it is sent', async () => {
    const server = await startFakeVlm();
    try {
      const single = createVlmClient({ url: server.url, model: 'm', concurrency: 1 });
      server.hold();
      const inFlight = new AbortController();
      const queued = new AbortController();
      const first = single.complete(colourRequest(), { signal: inFlight.signal });
      const second = single.complete(colourRequest(), { signal: queued.signal });
      const third = single.complete(colourRequest());
      await server.whenHeld(1);
      queued.abort();
      expect(await failureOf(second)).toMatchObject({ failure: 'cancelled', attempts: 0 });
      inFlight.abort();
      expect(await failureOf(first)).toMatchObject({ failure: 'cancelled', attempts: 1 });
      // The third takes the freed slot; the cancelled second never reached the server.
      await server.whenRequests(2);
      server.release();
      expect((await third).attempts).toBe(1);
      expect(server.requests).toHaveLength(2);
      const preAborted = AbortSignal.abort();
      expect(await failureOf(single.complete(colourRequest(), { signal: preAborted }))).toMatchObject({ failure: 'cancelled', attempts: 0 });
    } finally {
      await server.close();
    }
  });

  test('close() cancels what is in flight and queued; later requests are cancelled at once', async () => {
    const server = await startFakeVlm();
    try {
      const closing = createVlmClient({ url: server.url, model: 'm', concurrency: 1 });
      server.hold();
      const sent = closing.complete(colourRequest());
      const waiting = closing.complete(colourRequest());
      await server.whenHeld(1);
      closing.close();
      expect((await failureOf(sent)).failure).toBe('cancelled');
      expect((await failureOf(waiting)).failure).toBe('cancelled');
      const after = await failureOf(closing.complete(colourRequest()));
      expect(after.message).toMatch(/cancelled: the client was closed/);
    } finally {
      await server.close();
    }
  });
});

describe('Retry-After headers', () => {
  test('retry-after-ms, seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
    expect(parseRetryAfter(new Headers(), now)).toBeNull();
  });
});

describe(`one round trip with a generated image (${REAL ? `real server ${REAL_URL}` : 'loopback fake VLM'})`, () => {
  test('a question about a generated image is answered', async () => {
    const vlm = REAL
      ? createVlmClient({ url: REAL_URL!, model: REAL_MODEL!, apiKey: process.env.QUICKSORT_VLM_API_KEY || undefined, dialect: process.env.QUICKSORT_VLM_DIALECT === 'ollama' ? 'ollama' : 'openai', timeoutMs: 120_000, retries: 1 })
      : client();
    clients.push(vlm);
    const answer = await vlm.complete({ examples: [], question: 'What colour is this image? Answer with one word.', images: [red], maxTokens: 16 });
    console.log(`client.test: ${REAL ? 'real' : 'fake'} server answered ${JSON.stringify(answer.text)} in ${Math.round(answer.ms)} ms (usage ${JSON.stringify(answer.usage)})`);
    expect(answer.text.trim().length).toBeGreaterThan(0);
    expect(answer.attempts).toBeGreaterThanOrEqual(1);
  });
});
