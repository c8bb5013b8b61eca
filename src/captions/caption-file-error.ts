import { InvalidArgumentError } from '../errors';

/**
 * A captions file that cannot be read as a whole (a CSV without a `uri` or `caption` column, a file of no
 * known format): nothing of it is imported. Bad rows of a readable file are not this error: they are skipped
 * and listed in the import's report. A usage error (exit 2): the file given is not what the flag expects.
 */
export class CaptionFileError extends InvalidArgumentError {
  constructor(
    message: string,
    readonly file: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A row of a captions file that was skipped, and why; `where` is a line (`line 12`) or a key path (`annotations[3]`). */
export interface CaptionProblem {
  file: string;
  where: string;
  field: string;
  reason: string;
}
