/** The bytes JSON's grammar turns on, and the byte classes the scanner's hot loops test by table lookup. */

export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const BACKSLASH = 0x5c;
export const MINUS = 0x2d;
export const PLUS = 0x2b;
export const DOT = 0x2e;
export const ZERO = 0x30;
export const NINE = 0x39;
export const LOWER_E = 0x65;
export const UPPER_E = 0x45;
/** The first letters of `NaN` and `Infinity`. */
export const UPPER_N = 0x4e;
export const UPPER_I = 0x49;

export const IS_SPACE: Uint8Array = new Uint8Array(256);
IS_SPACE[0x20] = IS_SPACE[0x09] = IS_SPACE[0x0a] = IS_SPACE[0x0d] = 1;
/** 1 quote, 2 opener, 3 closer, 0 anything else. */
export const NESTING: Uint8Array = new Uint8Array(256);
NESTING[QUOTE] = 1;
NESTING[OPEN_BRACKET] = NESTING[OPEN_BRACE] = 2;
NESTING[CLOSE_BRACKET] = NESTING[CLOSE_BRACE] = 3;
/** Bytes that end a bare scalar (number or literal). */
export const ENDS_SCALAR: Uint8Array = new Uint8Array(256);
ENDS_SCALAR[COMMA] = ENDS_SCALAR[CLOSE_BRACE] = ENDS_SCALAR[CLOSE_BRACKET] = 1;
ENDS_SCALAR[0x20] = ENDS_SCALAR[0x09] = ENDS_SCALAR[0x0a] = ENDS_SCALAR[0x0d] = 1;
