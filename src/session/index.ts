/** Labeling sessions: the transport-agnostic protocol the widget and the web app speak, and its engine side. */
export { SessionHost, defaultKey, type SessionHostOptions } from './session-host';
export { LabelingSession, type SessionOptions } from './labeling-session';
export { parseClientMessage } from './validate';
export * from './protocol';
