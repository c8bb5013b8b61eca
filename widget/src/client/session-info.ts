import type { ClassView, SessionStats, TextModelState, VlmStateView } from '../../../src/session/protocol';
import type { Connection, Welcome } from './connection';
import type { Notices } from './notices';

const STATS_EVERY_MS = 1000;

/**
 * What the session labels with and how it is doing: the classes, the ranker that orders the queue, the stats,
 * the text model's state.
 */
export class SessionInfo {
  private classList: ClassView[] = [];
  private rankerName = '';
  private rankerList: { name: string; summary: string }[] = [];
  private latest: SessionStats | null = null;
  private textState: TextModelState | null = null;
  private vlmState: VlmStateView | null = null;
  private statsTimer: ReturnType<typeof setTimeout> | undefined;
  private statsAskedAt = 0;

  constructor(
    private readonly connection: Connection,
    private readonly notices: Notices,
  ) {}

  get classes(): readonly ClassView[] {
    return this.classList;
  }

  get ranker(): string {
    return this.rankerName;
  }

  get rankers(): readonly { name: string; summary: string }[] {
    return this.rankerList;
  }

  get stats(): SessionStats | null {
    return this.latest;
  }

  /** The text model behind search and caption suggestions; null from an engine without text search. */
  get textModel(): TextModelState | null {
    return this.textState;
  }

  /** The VLM assist; null from an engine without it. */
  get vlm(): VlmStateView | null {
    return this.vlmState;
  }

  heardVlm(state: VlmStateView): void {
    this.vlmState = state;
  }

  welcome(message: Welcome): void {
    this.classList = message.classes;
    this.rankerName = message.ranker;
    this.rankerList = message.rankers;
    this.latest = message.stats;
    this.textState = message.textModel ?? null;
    this.vlmState = message.vlm ?? null;
  }

  heardTextModel(state: TextModelState): void {
    this.textState = state;
  }

  /** The engine's word, pushed: it wins over what this client showed. */
  heardClasses(classes: ClassView[]): void {
    this.classList = classes;
  }

  heardRanker(ranker: string): void {
    this.rankerName = ranker;
  }

  heardStats(stats: SessionStats): void {
    this.latest = stats;
  }

  /** Shown at once; a refusal takes it back. */
  addClass(name: string, key?: string): void {
    const clean = name.trim();
    if (!clean) return;
    if (this.classList.some((c) => c.name === clean)) return this.notices.toast('info', `The class ${clean} is there already.`);
    const before = this.classList;
    this.classList = [...this.classList, { name: clean, key: key ?? null, count: 0 }];
    this.connection.send({ type: 'add_class', name: clean, ...(key ? { key } : {}) }, (reply) => {
      if (reply.type === 'refused') {
        this.classList = before;
        this.notices.toast('error', `Class not added: ${reply.reason}`);
      }
    });
    this.notices.announce(`class ${clean} added`);
  }

  setRanker(name: string): void {
    const before = this.rankerName;
    this.rankerName = name;
    this.connection.send({ type: 'set_ranker', ranker: name }, (reply) => {
      if (reply.type === 'refused') {
        this.rankerName = before;
        this.notices.toast('error', `Ranker not changed: ${reply.reason}`);
      }
    });
  }

  requestStats(): void {
    this.statsAskedAt = Date.now();
    this.connection.ask({ type: 'stats' }, (message) => {
      if (message.type === 'stats') this.latest = message.stats;
    });
  }

  /** Stats after actions, at most once a second (trailing), so the counts follow the labels. */
  scheduleStats(): void {
    if (this.statsTimer) return;
    const wait = Math.max(0, STATS_EVERY_MS - (Date.now() - this.statsAskedAt));
    this.statsTimer = setTimeout(() => {
      this.statsTimer = undefined;
      this.requestStats();
    }, wait);
  }

  close(): void {
    clearTimeout(this.statsTimer);
    this.statsTimer = undefined;
  }
}
