import { ModelError } from '../../errors';

type Json = unknown;

/**
 * Reads typed fields out of parsed JSON, failing with a message that names the file, the field path, what
 * was found and what is allowed. Unknown keys are refused too, so a misspelt field never silently falls back
 * to its default.
 */
export class FieldReader {
  private readonly seen = new Set<string>();

  constructor(
    readonly file: string,
    private readonly value: Record<string, Json>,
    private readonly prefix = '',
  ) {}

  static root(file: string, value: Json): FieldReader {
    if (!isObject(value)) throw new ModelError(`${file}: the manifest must be a JSON object; got ${describe(value)}`);
    return new FieldReader(file, value);
  }

  path(key: string): string {
    return `${this.prefix}${key}`;
  }

  has(key: string): boolean {
    return this.value[key] !== undefined;
  }

  fail(key: string, expected: string): never {
    throw new ModelError(`${this.file}: field "${this.path(key)}" must be ${expected}; got ${describe(this.value[key])}`);
  }

  private take(key: string): Json {
    this.seen.add(key);
    return this.value[key];
  }

  string(key: string): string;
  string(key: string, fallback: string): string;
  string(key: string, fallback: undefined): string | undefined;
  string(key: string, ...fallback: [] | [string | undefined]): string | undefined {
    const value = this.take(key);
    if (value === undefined) {
      if (fallback.length) return fallback[0];
      throw new ModelError(`${this.file}: field "${this.path(key)}" is missing; it must be a string`);
    }
    if (typeof value !== 'string' || value === '') this.fail(key, 'a non-empty string');
    return value;
  }

  /** A string that may also be explicitly null (meaning "none"). */
  nullableString(key: string): string | null | undefined {
    const value = this.take(key);
    if (value === null || value === undefined) return value as null | undefined;
    if (typeof value !== 'string' || value === '') this.fail(key, 'a non-empty string or null');
    return value;
  }

  number(key: string, options: { fallback?: number; integer?: boolean; min?: number; max?: number; exclusiveMin?: number } = {}): number {
    const value = this.take(key);
    if (value === undefined && options.fallback !== undefined) return options.fallback;
    const expected = [
      options.integer ? 'a whole number' : 'a number',
      options.min !== undefined ? `≥ ${options.min}` : '',
      options.exclusiveMin !== undefined ? `> ${options.exclusiveMin}` : '',
      options.max !== undefined ? `≤ ${options.max}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    if (value === undefined) throw new ModelError(`${this.file}: field "${this.path(key)}" is missing; it must be ${expected}`);
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      (options.integer && !Number.isInteger(value)) ||
      (options.min !== undefined && value < options.min) ||
      (options.exclusiveMin !== undefined && value <= options.exclusiveMin) ||
      (options.max !== undefined && value > options.max)
    ) {
      this.fail(key, expected);
    }
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const value = this.take(key);
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(key, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return value as T;
  }

  /** An array of exactly three numbers, each checked by `check`. */
  triple(key: string, fallback: [number, number, number], check: (n: number) => boolean, what: string): [number, number, number] {
    const value = this.take(key);
    if (value === undefined) return fallback;
    if (!Array.isArray(value) || value.length !== 3 || !value.every((n) => typeof n === 'number' && Number.isFinite(n) && check(n))) {
      this.fail(key, `an array of 3 ${what} (one per channel, R G B)`);
    }
    return value as [number, number, number];
  }

  object(key: string): FieldReader;
  object(key: string, optional: true): FieldReader | undefined;
  object(key: string, optional = false): FieldReader | undefined {
    const value = this.take(key);
    if (value === undefined && optional) return undefined;
    if (value === undefined) throw new ModelError(`${this.file}: field "${this.path(key)}" is missing; it must be an object`);
    if (!isObject(value)) this.fail(key, 'an object');
    return new FieldReader(this.file, value, `${this.path(key)}.`);
  }

  /** Refuses keys no reader asked for (typos), except `$schema` and `$comment`-style keys. */
  done(): void {
    const unknown = Object.keys(this.value).filter((key) => !this.seen.has(key) && !key.startsWith('$'));
    if (unknown.length) {
      throw new ModelError(
        `${this.file}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${this.path(key)}"`).join(', ')}; ` +
          `known fields here: ${[...this.seen].map((key) => `"${this.path(key)}"`).join(', ')}`,
      );
    }
  }
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: Json): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
