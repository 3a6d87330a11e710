// Types of the <redis-repl-lab> element (import 'redis-repl-lab' registers it). Documented in
// docs/embedding.md; the snapshot's fields in the README ("The <redis-repl-lab> element").

export type PeerRef = { peer: 'node' | 'sentinel'; index: number };

/** One trace event: a kind plus structured fields (see src/sim/trace.rs). */
export interface LabEvent {
  seq: number;
  timeUs: number;
  /** The node (or, for sentinel events, the sentinel) it concerns. */
  node: number;
  /** Its group: log, state, psync, stream, fault, net, conn, sentinel, sentinel-net. */
  kind: string;
  /** What happened: log, sentinel, connect, accept, close, sent, delivered, state, psync, ... */
  type: string;
  [field: string]: unknown;
}

export interface NodeSnapshot {
  index: number;
  name: string;
  host: string;
  port: number;
  up: boolean;
  paused: boolean;
  role: 'master' | 'slave';
  replid: string;
  replid2: string;
  masterReplOffset: number;
  secondReplOffset: number;
  masterHost: string | null;
  masterPort: number;
  replState: 'none' | 'connect' | 'connecting' | 'handshake' | 'sync' | 'connected';
  linkStatus: 'up' | 'down' | null;
  slaveReplOffset: number;
  slaveReadReplOffset: number;
  syncReadBytes: number;
  syncTotalBytes: number;
  dbsize: number;
  keyspace: Array<[number, number]>;
  load: number;
  backlog: { active: boolean; size: number; firstByte: number; histlen: number };
  buffer: { blocks: Array<[number, number, number]>; end: number } | null;
  replicas: Array<{
    ip: string; port: number; state: string; phase: string; offset: number; lag: number;
    awaitingFirstAck: boolean; outputBuffer: number; cursor: number | null; node: number | null;
  }>;
  timers: Array<{ kind: string; sinceUs: number | null; deadlineUs: number; replicaPort: number | null }>;
  [field: string]: unknown;
}

export interface LabSnapshot {
  nowMs: number;
  nowUs: number;
  version: number;
  horizonUs: number;
  generation: number;
  nodes: NodeSnapshot[];
  links: Array<{
    replica: number; master: number | null; host: string; port: number; state: string;
    masterSees: string | null; partitioned: boolean; latencyUs: number; jitterUs: number; bandwidth: number;
  }>;
  groups: number[] | null;
  sentinels: Array<Record<string, unknown>>;
  messages: Array<{
    id: number; offset: number | null; from: PeerRef; to: PeerRef; sentAtUs: number; arriveAtUs: number;
    bytes: number; label: string; kind: string; held: boolean;
  }>;
  crowds: Array<{ from: PeerRef; to: PeerRef; count: number; bytes: number }>;
}

/** A refusal: `code` is no-node, no-sentinel, too-many-nodes, same-node, bad-rdb, bad-log, panic, bad-attribute... */
export interface LabError {
  code: string;
  message: string;
  attribute?: string;
  /** For `bad-scenario`: each problem of the file. */
  errors?: Array<{ file: string; line: number | null; place: string; message: string }>;
}

/** The chapter events: every `detail` has the chapter's id. */
export interface LabStepDetail { id: string; step: number; total: number }
export interface LabAnswerDetail { id: string; step: number; answer: number | null; correct: boolean }
export interface LabCheckpointDetail {
  id: string; step: number; passed: boolean;
  checks?: Array<{ text: string; holds: boolean }>;
  /** True for a challenge's trial. */
  goal?: boolean;
}

export declare class RedisReplLab extends HTMLElement {
  /** Resolves once the engine runs and the first frame is drawn. */
  readonly ready: Promise<void>;
  readonly nodeCount: number;
  /** Virtual time, ms. */
  readonly now: number;
  readonly playing: boolean;
  exec(node: number, line: string): Promise<string>;
  addNode(): Promise<number>;
  removeNode(node: number): Promise<void>;
  setLoad(node: number, writesPerSecond: number): Promise<void>;
  play(): void;
  pause(): void;
  run(ms: number): Promise<number>;
  step(): Promise<boolean>;
  seek(ms: number): Promise<number>;
  state(): Promise<LabSnapshot>;
  actionLog(): Promise<string>;
  /** Opens a chapter by id, or a scenario file's text; false if the file has problems. */
  openScenario(id: string, text?: string): Promise<boolean>;
}

declare global {
  interface HTMLElementTagNameMap {
    'redis-repl-lab': RedisReplLab;
  }
  interface HTMLElementEventMap {
    'lab-ready': CustomEvent<void>;
    'lab-event': CustomEvent<LabEvent>;
    'lab-error': CustomEvent<LabError>;
    'lab-state': CustomEvent<LabSnapshot>;
    'lab-step': CustomEvent<LabStepDetail>;
    'lab-answer': CustomEvent<LabAnswerDetail>;
    'lab-checkpoint': CustomEvent<LabCheckpointDetail>;
    'lab-scenario-complete': CustomEvent<{ id: string }>;
  }
}
