import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { InvalidArgumentError, messageOf } from '../errors';
import { newToken } from './access-token';

/** Shorter than this, a token could be guessed; newToken's are 43 characters. */
const MIN_TOKEN_LENGTH = 32;

/**
 * `quicksort serve --token-file FILE`: the server's token kept in a file of the operator's choosing, so a
 * restarted server has the same URL and open pages reconnect by themselves (issue 17); without it every start
 * makes a fresh token, as before. The first start writes a fresh token there, readable by its owner only
 * (0600); a file others can read is refused (the token is as good as a password to the dataset), as is a
 * token too short to be safe. Opt-in, never in the dataset's state folder by default: that folder travels with
 * the dataset (copies, shares, archives), and the token would travel with it.
 *
 * @example
 * const token = readOrCreateToken('/home/ann/.config/quicksort/photos.token');
 */
export function readOrCreateToken(file: string): string {
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${newToken()}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new InvalidArgumentError(`--token-file ${file}: cannot create it: ${messageOf(error)}`, { cause: error });
  }
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`--token-file ${file}: cannot read it: ${messageOf(error)}`, { cause: error });
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new InvalidArgumentError(`--token-file ${file}: others can read it (mode ${(mode & 0o777).toString(8)}); make it the owner's only: chmod 600 ${file}`);
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new InvalidArgumentError(`--token-file ${file}: the token must be one word of at least ${MIN_TOKEN_LENGTH} characters; delete the file to have a fresh one written`);
  }
  return token;
}
