import { connectionLimits, DEFAULT_LIMITS, MessageLimiter, TokenBucket } from '../../src/server';
import { withoutAnyToken } from '../../src/server';

/** The limiter's arithmetic on a clock the test moves: no waiting on a refill. */

function clock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TokenBucket', () => {
  it('gives its capacity at once, then refills at its rate, never above capacity', () => {
    const time = clock(1000);
    const bucket = new TokenBucket(3, 10, time.now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    time.advance(50); // half a token
    expect(bucket.take()).toBe(false);
    time.advance(50);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    time.advance(60_000); // a long pause refills to capacity, not 600 tokens
    expect(Array.from({ length: 4 }, () => bucket.take())).toEqual([true, true, true, false]);
  });
});

describe('MessageLimiter', () => {
  const limits = connectionLimits({ burst: 5, perSecond: 10, floodRefusals: 20 });

  it('accepts a burst, refuses past it, accepts again after the refill', () => {
    const time = clock();
    const limiter = new MessageLimiter(limits, time.now);
    const first = Array.from({ length: 8 }, () => limiter.admit());
    expect(first).toEqual(['accept', 'accept', 'accept', 'accept', 'accept', 'refuse', 'refuse', 'refuse']);
    time.advance(100);
    expect([limiter.admit(), limiter.admit()]).toEqual(['accept', 'refuse']);
    time.advance(1000);
    expect(Array.from({ length: 6 }, () => limiter.admit())).toEqual(['accept', 'accept', 'accept', 'accept', 'accept', 'refuse']);
  });

  it('calls a client that keeps sending after floodRefusals refusals a flood; refusals are forgiven at the sustained rate', () => {
    const time = clock();
    const limiter = new MessageLimiter(limits, time.now);
    for (let i = 0; i < 5; i += 1) expect(limiter.admit()).toBe('accept');
    for (let i = 0; i < 20; i += 1) expect(limiter.admit()).toBe('refuse');
    expect(limiter.admit()).toBe('flood');

    // At the rate for a minute: all accepted; at 2× the rate: half refused, and forgiven as fast: never a flood.
    const steady = new MessageLimiter(limits, time.now);
    const seen = new Set<string>();
    for (let tick = 0; tick < 600; tick += 1) {
      time.advance(100);
      seen.add(steady.admit());
    }
    expect(seen).toEqual(new Set(['accept']));
    const twice = new MessageLimiter(limits, time.now);
    for (let tick = 0; tick < 600; tick += 1) {
      time.advance(100);
      seen.add(twice.admit());
      seen.add(twice.admit());
    }
    expect(seen.has('flood')).toBe(false);
  });

  it('with the defaults, 10× the sustained rate is closed after about 5 s', () => {
    const time = clock();
    const limiter = new MessageLimiter(DEFAULT_LIMITS, time.now);
    const every = 1000 / (10 * DEFAULT_LIMITS.perSecond);
    let sent = 0;
    while (limiter.admit() !== 'flood') {
      sent += 1;
      time.advance(every);
    }
    expect(time.now() / 1000).toBeGreaterThan(4.5);
    expect(time.now() / 1000).toBeLessThan(6);
    expect(sent).toBeGreaterThan(DEFAULT_LIMITS.burst + DEFAULT_LIMITS.floodRefusals);
  });

  it('refuses limits that are not positive numbers, naming the field', () => {
    expect(() => connectionLimits({ burst: 0 })).toThrow('limits.burst must be a positive number; got 0');
    expect(() => connectionLimits({ perSecond: Number.NaN })).toThrow('limits.perSecond must be a positive number; got null');
    expect(connectionLimits({ maxMessageBytes: 10 })).toEqual({ ...DEFAULT_LIMITS, maxMessageBytes: 10 });
  });
});

describe('withoutAnyToken', () => {
  it("blots out the server's token anywhere, and any token= or Bearer value, escaped or not", () => {
    const token = 'S3cret-token_value';
    expect(withoutAnyToken(`refused GET /x%3Ftoken=${token}: Origin "http://${token}.example"`, token)).toBe('refused GET /x%3Ftoken=<token>: Origin "http://<token>.example"');
    expect(withoutAnyToken('GET /api/info?user=ann&token=an-old-one&x=1', token)).toBe('GET /api/info?user=ann&token=<token>&x=1');
    expect(withoutAnyToken('/a%3Ftoken%3Dold%26b=1 and TOKEN=old2', token)).toBe('/a%3Ftoken%3D<token> and TOKEN=<token>');
    expect(withoutAnyToken(`/x%3Ftoken=${token}x`, token)).toBe('/x%3Ftoken=<token>');
    expect(withoutAnyToken('authorization: Bearer abc.def, next', token)).toBe('authorization: Bearer <token>, next');
    expect(withoutAnyToken('no secrets here: tokens are counted', token)).toBe('no secrets here: tokens are counted');
  });
});
