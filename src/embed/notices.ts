/** Where the engine tells the user something once (provider fallbacks): a function of one message. */
export type NoticeSink = (message: string) => void;

export const stderrNotice: NoticeSink = (message) => process.stderr.write(`quicksort: ${message}\n`);

const said = new WeakMap<NoticeSink, Set<string>>();

/** Says `message` through `sink` unless this sink already said it in this process. */
export function sayOnce(sink: NoticeSink, message: string): void {
  let messages = said.get(sink);
  if (!messages) said.set(sink, (messages = new Set()));
  if (messages.has(message)) return;
  messages.add(message);
  sink(message);
}
