import sharp from 'sharp';
import { FAKE_CAPTION, FAKE_UNKNOWN_CLASS, startFakeVlm, type FakeVlm } from './fake-vlm-server';

/** The fake VLM checks the wire format of both dialects and answers with the nearest demonstration's answer. */

async function solid(r: number, g: number, b: number, format: 'jpeg' | 'png' = 'jpeg'): Promise<string> {
  const image = sharp({ create: { width: 24, height: 24, channels: 3, background: { r, g, b } } });
  return (await (format === 'jpeg' ? image.jpeg() : image.png()).toBuffer()).toString('base64');
}
const dataUrl = (base64: string, mime = 'image/jpeg'): string => `data:${mime};base64,${base64}`;

let fake: FakeVlm;
let red: string;
let blue: string;
let reddish: string;
beforeAll(async () => {
  fake = await startFakeVlm();
  [red, blue, reddish] = await Promise.all([solid(230, 20, 20), solid(20, 20, 230), solid(200, 40, 30)]);
});
afterAll(() => fake.close());

async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${fake.ollamaUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}
const openai = (body: unknown) => post('/v1/chat/completions', body);
const ollama = (body: unknown) => post('/api/chat', body);

const labelSchema = { type: 'object', properties: { label: { type: 'string', anyOf: [{ enum: ['red', 'blue'] }, { pattern: '^other: .+$' }] } }, required: ['label'], additionalProperties: false };
const responseFormat = { type: 'json_schema', json_schema: { name: 'label', schema: labelSchema, strict: true } };

function interleaved(query: string): unknown {
  return {
    model: 'm',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What colour?' },
          { type: 'image_url', image_url: { url: dataUrl(blue) } },
          { type: 'text', text: 'Answer: blue' },
          { type: 'text', text: 'What colour?' },
          { type: 'image_url', image_url: { url: dataUrl(red) } },
          { type: 'text', text: 'Answer: red' },
          { type: 'text', text: 'What colour?' },
          { type: 'image_url', image_url: { url: dataUrl(query) } },
        ],
      },
    ],
    response_format: responseFormat,
    logprobs: true,
  };
}

describe('fake VLM: answers', () => {
  test('OpenAI interleaved: the nearest demonstration answers, in the schema, with usage and logprobs', async () => {
    const { status, json } = await openai(interleaved(reddish));
    expect(status).toBe(200);
    expect(json).toMatchObject({ object: 'chat.completion', model: 'm', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }] });
    expect(JSON.parse(json.choices[0].message.content)).toEqual({ label: 'red' });
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens + json.usage.completion_tokens);
    expect(json.choices[0].logprobs.content.map((t: { token: string }) => t.token).join('')).toBe(json.choices[0].message.content);
    const record = fake.requests[fake.requests.length - 1]!;
    expect(record.prompt!.images.map((image) => image.answer)).toEqual(['blue', 'red', undefined]);
  });

  test('Ollama per-message: answers from the assistant turns; a class outside the enum becomes "other: NAME"', async () => {
    const body = {
      model: 'm',
      stream: false,
      format: labelSchema,
      messages: [
        { role: 'user', content: 'What colour?', images: [blue] },
        { role: 'assistant', content: '{"label":"blue"}' },
        { role: 'user', content: 'What colour?', images: [red] },
        { role: 'assistant', content: 'crimson' },
        { role: 'user', content: 'What colour?', images: [reddish] },
      ],
    };
    const { status, json } = await ollama(body);
    expect(status).toBe(200);
    expect(json).toMatchObject({ model: 'm', done: true, message: { role: 'assistant' } });
    expect(JSON.parse(json.message.content)).toEqual({ label: 'other: crimson' });
    expect(json.prompt_eval_count).toBeGreaterThan(0);
  });

  test('Ollama interleaved: Answer lines belong to the first images of the message', async () => {
    const body = { model: 'm', stream: false, messages: [{ role: 'user', content: 'Image 1: colour?\nAnswer: blue\n\nImage 2: colour?\nAnswer: red\n\nImage 3: colour?', images: [blue, red, reddish] }] };
    const { json } = await ollama(body);
    expect(json.message.content).toBe('red');
  });

  test('no demonstrations: the enum\'s first value, or the fixed caption for free text', async () => {
    const query = { role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(blue) } }] };
    expect(JSON.parse((await openai({ model: 'm', messages: [query], response_format: responseFormat })).json.choices[0].message.content)).toEqual({ label: 'red' });
    expect((await openai({ model: 'm', messages: [query] })).json.choices[0].message.content).toBe(FAKE_CAPTION);
  });

  test('injected failures come in order, one per request, after validation', async () => {
    fake.failNext(1, { status: 429, retryAfterS: 2 });
    fake.malformed(1);
    fake.answerUnknownClass(1);
    const limited = await fetch(`${fake.url}/chat/completions`, { method: 'POST', body: JSON.stringify(interleaved(red)) });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '2']);
    const garbled = (await openai(interleaved(red))).json.choices[0].message.content;
    expect(() => JSON.parse(garbled)).toThrow();
    expect(JSON.parse((await openai(interleaved(red))).json.choices[0].message.content)).toEqual({ label: FAKE_UNKNOWN_CLASS });
    fake.dropConnection(1);
    await expect(openai(interleaved(red))).rejects.toThrow();
    expect(fake.requests[fake.requests.length - 1]!.outcome).toBe('dropped');
  });
});

describe('fake VLM: rejects malformed requests with a 400 naming the field', () => {
  const image = (url: string) => ({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] });
  const cases: [string, () => Promise<{ status: number; json: any }>, string][] = [
    ['an unknown part type', () => openai({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image', image: 'x' }] }] }), 'messages[0].content[0].type'],
    ['a non-data URL', () => openai(image('https://example.com/cat.jpg')), 'messages[0].content[0].image_url.url'],
    ['bad base64', () => openai(image('data:image/jpeg;base64,@@@')), 'messages[0].content[0].image_url.url'],
    ['bytes that are no image', () => openai(image(dataUrl(Buffer.from('not an image at all').toString('base64')))), 'messages[0].content[0].image_url.url'],
    ['a data URL whose MIME type lies', () => openai(image(dataUrl(red, 'image/png'))), 'messages[0].content[0].image_url.url'],
    ['a schema that is not an object', () => openai({ ...image(dataUrl(red)), response_format: { type: 'json_schema', json_schema: { name: 'x', schema: 'label' } } }), 'response_format.json_schema.schema'],
    ['images[] in the OpenAI dialect', () => openai({ model: 'm', messages: [{ role: 'user', content: 'hi', images: [red] }] }), 'messages[0].images'],
    ['an image in an assistant message', () => openai({ model: 'm', messages: [{ role: 'assistant', content: [{ type: 'image_url', image_url: { url: dataUrl(red) } }] }] }), 'messages[0].content[0]'],
    ['no model', () => openai({ messages: [{ role: 'user', content: 'hi' }] }), 'model'],
    ['a bad max_tokens', () => openai({ model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }), 'max_tokens'],
    ['content parts in Ollama', () => ollama({ model: 'm', stream: false, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }), 'messages[0].content'],
    ['a data URL in Ollama images', () => ollama({ model: 'm', stream: false, messages: [{ role: 'user', content: 'hi', images: [dataUrl(red)] }] }), 'messages[0].images[0]'],
    ['Ollama without stream:false', () => ollama({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), 'stream'],
    ['an Ollama format that is not a schema', () => ollama({ model: 'm', stream: false, format: 42, messages: [{ role: 'user', content: 'hi' }] }), 'format'],
  ];
  test.each(cases)('%s', async (_what, send, field) => {
    const { status, json } = await send();
    expect(status).toBe(400);
    const message: string = typeof json.error === 'string' ? json.error : json.error.message;
    expect(message.startsWith(`${field}:`)).toBe(true);
    expect(fake.requests[fake.requests.length - 1]).toMatchObject({ outcome: 'rejected', status: 400 });
  });

  test('PNG data URLs are accepted', async () => {
    expect((await openai(image(dataUrl(await solid(1, 2, 3, 'png'), 'image/png')))).status).toBe(200);
  });
});

describe('fake VLM: holding requests', () => {
  test('held requests count in flight until released', async () => {
    fake.hold();
    const pending = [openai(interleaved(red)), openai(interleaved(blue))];
    await fake.whenInFlight(2);
    expect(fake.inFlight).toBe(2);
    fake.release();
    const answers = await Promise.all(pending);
    expect(answers.map((a) => JSON.parse(a.json.choices[0].message.content).label)).toEqual(['red', 'blue']);
    expect(fake.maxInFlight).toBeGreaterThanOrEqual(2);
  });
});
