/**
 * The Jupyter messaging protocol as types: the envelope every message shares and the content of each message
 * type this kernel sends or answers. Wire names (`msg_type`, `buffer_paths`…) stay inside this file and the
 * codec; the rest of the kernel works with these types.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html (protocol 5.3).
 */

/** The protocol version this kernel speaks, sent in every header and in `kernel_info_reply`. */
export const PROTOCOL_VERSION = '5.3';

/** The five channels of a kernel (messaging spec, "Introduction"). */
export type Channel = 'shell' | 'control' | 'iopub' | 'stdin' | 'heartbeat';

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  /** ISO 8601. */
  date: string;
  msg_type: string;
  version: string;
}

/** A parent header is the header of the request a message answers, or `{}` when it answers none. */
export type ParentHeader = MessageHeader | Record<string, never>;

/** A decoded message. `identities` are the ZeroMQ routing prefix, needed to answer on a ROUTER socket. */
export interface JupyterMessage<Content = Record<string, unknown>> {
  identities: Buffer[];
  header: MessageHeader;
  parent_header: ParentHeader;
  metadata: Record<string, unknown>;
  content: Content;
  /** Binary buffers: raw frames after the content frame, not part of the signature. */
  buffers: Buffer[];
}

/** A MIME bundle: `{ "text/plain": "…", "text/html": "…" }`; binary types are base64 strings. */
export type MimeBundle = Record<string, unknown>;

export type ExecutionState = 'starting' | 'busy' | 'idle';

export interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  user_expressions?: Record<string, string>;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
}

export type ExecuteReply =
  | { status: 'ok'; execution_count: number; payload: unknown[]; user_expressions: Record<string, unknown> }
  | ({ status: 'error'; execution_count: number } & ErrorContent)
  | { status: 'aborted'; execution_count: number | null };

/** The `error` IOPub message and the error fields of replies. */
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface DisplayDataContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}

export interface ExecuteResultContent extends DisplayDataContent {
  execution_count: number;
}

export interface StreamContent {
  name: 'stdout' | 'stderr';
  text: string;
}

export interface CompleteRequest {
  code: string;
  /** In Unicode code points since protocol 5.2, not UTF-16 units. */
  cursor_pos: number;
}

export interface CompleteReply {
  status: 'ok';
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: Record<string, unknown>;
}

export interface InspectRequest {
  code: string;
  cursor_pos: number;
  detail_level?: 0 | 1;
}

export interface InspectReply {
  status: 'ok';
  found: boolean;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

export interface IsCompleteRequest {
  code: string;
}

export type IsCompleteReply = { status: 'complete' | 'invalid' | 'unknown' } | { status: 'incomplete'; indent: string };

export interface ShutdownRequest {
  restart: boolean;
}

export interface KernelInfoReply {
  status: 'ok';
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: {
    name: string;
    version: string;
    mimetype: string;
    file_extension: string;
    codemirror_mode?: string | Record<string, unknown>;
    pygments_lexer?: string;
  };
  banner: string;
  help_links: { text: string; url: string }[];
  debugger: boolean;
}

/** Comm messages (spec "Custom messages"): opened, used and closed from either side. */
export interface CommOpenContent {
  comm_id: string;
  target_name: string;
  data: Record<string, unknown>;
  target_module?: string | null;
}

export interface CommMsgContent {
  comm_id: string;
  data: Record<string, unknown>;
}

export interface CommCloseContent {
  comm_id: string;
  data: Record<string, unknown>;
}

export interface CommInfoRequest {
  target_name?: string;
}

export interface CommInfoReply {
  status: 'ok';
  comms: Record<string, { target_name: string }>;
}
