// The JSON shapes that cross from the wasm module (cir-web's `Row` and cir-record's `Metrics`). The Rust types are
// the source of truth; these mirror only the fields the page reads.

export interface Execution {
  status: string;
  stdout: string;
  stderr: string;
  error: string | null;
  exit_code: number | null;
  duration_ms: number;
  truncated: boolean;
}

export type Segment =
  | { kind: "text"; text: string }
  | { kind: "code"; code: string; text: string }
  | { kind: "output"; execution: Execution; feedback: string };

export interface Verdict {
  equivalent: boolean;
  reason: string;
}

export interface Trajectory {
  schema: number;
  dataset: string;
  problem_id: string;
  sample: number;
  prompt: string;
  gold: string;
  segments: Segment[];
  finish: string;
  tool_calls: number;
  usage: { prompt_tokens: number | null; completion_tokens: number | null; requests: number };
  answer: string | null;
  verdict: Verdict | null;
  timing: { generation_ms: number; tool_ms: number; grading_ms: number; total_ms: number };
  sampling: { model: string; temperature: number };
  error: string | null;
}

/** One loaded line: the stored trajectory, the page's re-grade, and where it came from. */
export interface Row {
  trajectory: Trajectory;
  answer: string | null;
  regrade: Verdict;
  changed: boolean;
  /** 1-based line number in the file. */
  line: number;
}

export interface AtK {
  k: number;
  value: number;
}

export interface DatasetMetrics {
  dataset: string;
  problems: number;
  samples: number;
  n: number;
  avg: number;
  pass_at_k: AtK[];
  maj_at_k: AtK[];
  greedy_accuracy: number | null;
  tools: { calls_histogram: number[]; mean_calls: number; tool_use_rate: number; executions: number };
}

export interface Metrics {
  datasets: DatasetMetrics[];
  overall: DatasetMetrics;
  macro_avg: number;
}

/** The metrics per value of one metadata field (`subject`, `level`, …); each group's `dataset` is the value. */
export interface Breakdown {
  field: string;
  groups: DatasetMetrics[];
}

export interface BadLine {
  line: number;
  message: string;
}

/** Messages from the parsing worker. */
export type FromWorker =
  | { kind: "rows"; rows: Row[]; errors: BadLine[]; bytes: number; total: number }
  | { kind: "done"; metrics: Metrics | null; breakdowns: Breakdown[] }
  | { kind: "fatal"; message: string };

/** Messages to the parsing worker. */
export type ToWorker = { kind: "file"; file: File } | { kind: "url"; url: string };
