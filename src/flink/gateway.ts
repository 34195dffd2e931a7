import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.js';

/** A statement's result rows as the SQL gateway returns them (JSON row format). */
export interface StatementResult {
  columns: string[];
  rows: unknown[][];
  /** Set for INSERT / EXECUTE STATEMENT SET once the job is submitted. */
  jobId?: string;
}

interface ResultPage {
  resultType: 'NOT_READY' | 'PAYLOAD' | 'EOS';
  results?: { columns?: { name: string }[]; data?: { kind: string; fields: unknown[] }[] };
  nextResultUri?: string;
  jobID?: string;
}

/** The Flink SQL gateway's REST API (v1): sessions and statements. */
export class SqlGateway {
  constructor(readonly url: string) {}

  async openSession(name: string, properties: Record<string, string> = {}): Promise<string> {
    const body = (await this.request('POST', '/v1/sessions', { sessionName: name, properties })) as { sessionHandle: string };
    return body.sessionHandle;
  }

  async closeSession(session: string): Promise<void> {
    await this.request('DELETE', `/v1/sessions/${session}`).catch(() => undefined);
  }

  /** Runs one statement (no trailing ';') and reads its whole result; SQL errors come back as FLINK_SQL_ERROR. */
  async execute(session: string, statement: string, timeoutMs = 120_000): Promise<StatementResult> {
    const { operationHandle } = (await this.request('POST', `/v1/sessions/${session}/statements`, { statement })) as { operationHandle: string };
    let uri = `/v1/sessions/${session}/operations/${operationHandle}/result/0?rowFormat=JSON`;
    const result: StatementResult = { columns: [], rows: [] };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const page = (await this.request('GET', uri)) as ResultPage;
      if (page.jobID) result.jobId = page.jobID;
      if (page.results?.columns?.length) result.columns = page.results.columns.map((c) => c.name);
      for (const row of page.results?.data ?? []) result.rows.push(row.fields);
      if (page.resultType === 'EOS' || !page.nextResultUri) break;
      // A job-submitting statement has its answer (the job id) once the first payload arrives.
      if (result.jobId && result.rows.length > 0) break;
      if (Date.now() > deadline) throw new AppError('FLINK_UNAVAILABLE', `The SQL gateway did not finish the statement in ${timeoutMs / 1000} s.`);
      if (page.resultType === 'NOT_READY') await sleep(100);
      uri = page.nextResultUri;
    }
    await this.request('DELETE', `/v1/sessions/${session}/operations/${operationHandle}/close`).catch(() => undefined);
    return result;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (error) {
      throw new AppError(
        'FLINK_UNAVAILABLE',
        `The Flink SQL gateway does not answer at ${this.url} (${(error as Error).message}): start it with \`npx rtrec stack up\` or set FLINK_SQL_GATEWAY_URL.`,
      );
    }
    const text = await response.text();
    if (!response.ok) throw new AppError('FLINK_SQL_ERROR', gatewayError(text) || `${method} ${path} → HTTP ${response.status}`);
    return text ? JSON.parse(text) : undefined;
  }
}

/**
 * The gateway wraps the planner's message in layers of Java stack traces; the useful line is the
 * innermost "Caused by" (or a SqlValidatorException / ParseException line).
 */
export function gatewayError(body: string): string {
  let errors: string[];
  try {
    errors = ((JSON.parse(body) as { errors?: string[] }).errors ?? []).map(String);
  } catch {
    return body.slice(0, 500);
  }
  const text = errors.join('\n');
  const lines = text.split('\n').map((l) => l.trim());
  const causes = lines.filter((l) => l.startsWith('Caused by:')).map((l) => l.replace(/^Caused by:\s*/, '').replace(/^[\w.$]+(Exception|Error):\s*/, ''));
  const message = causes.at(-1) ?? lines.find((l) => /Exception:/.test(l))?.replace(/^[\w.$]+(Exception|Error):\s*/, '') ?? lines[0] ?? '';
  return message.slice(0, 1000);
}

/** A job as the JobManager's REST API lists it, with the figures `jobs list` shows. */
export interface FlinkJob {
  id: string;
  name: string;
  state: string;
  startTime: number;
  durationMs: number;
}

/**
 * Whether a job vertex is the `_raw` reader of a change topic (flink/include/poison.sql), which only checks that each
 * message is JSON: the figures of a job are its changes readers'.
 */
export function isRawReader(vertexName: string): boolean {
  return /^Source: \w+_raw\[/.test(vertexName);
}

/** A Kafka source's position metric: `…KafkaSourceReader.topic.<topic>.partition.<n>.currentOffset`. */
const CURRENT_OFFSET = /\.KafkaSourceReader\.topic\.(.+)\.partition\.(\d+)\.currentOffset$/;

/** Whether a subtask metric is a Kafka source reader's position (`…topic.<topic>.partition.<n>.currentOffset`). */
export const isCurrentOffset = (name: string): boolean => CURRENT_OFFSET.test(name);

/**
 * `topic/partition` → the offset of the next record the job's sources will emit, from their `currentOffset` metrics
 * (aggregated with max over subtasks; + 1; 0 before the first record). Topics are spelled as Flink's metric names
 * spell them (`_` for each `.`). A topic read by two sources of one job (its changes and its `_raw` check) counts
 * at the slower one.
 */
export function sourcePositions(values: readonly { id: string; max: number }[]): Map<string, number> {
  const offsets = new Map<string, number>();
  for (const v of values) {
    const match = CURRENT_OFFSET.exec(v.id);
    if (!match) continue;
    const key = `${match[1]}/${match[2]}`;
    const position = Number.isFinite(v.max) ? v.max + 1 : 0;
    offsets.set(key, Math.min(offsets.get(key) ?? position, position));
  }
  return offsets;
}

/** A topic as Flink's metric names spell it (`_` for each `.`), the spelling of `sourcePositions`' keys. */
export const flinkTopicName = (topic: string): string => topic.replaceAll('.', '_');

/**
 * Records the sources have not emitted yet: Σ max(0, end − position) over `positions` (`sourcePositions`), with
 * `endOf(topic, partition)` the partition's end offset (topic in Flink's spelling); undefined when an end is unknown.
 */
export function recordsBehind(positions: ReadonlyMap<string, number>, endOf: (topic: string, partition: number) => number | undefined): number | undefined {
  let behind = 0;
  for (const [key, position] of positions) {
    const at = key.lastIndexOf('/');
    const end = endOf(key.slice(0, at), Number(key.slice(at + 1)));
    if (end === undefined) return undefined;
    behind += Math.max(0, end - position);
  }
  return behind;
}

/** The JobManager's REST API: jobs, their metrics and checkpoints, cancel. */
export class FlinkRest {
  constructor(readonly url: string) {}

  async jobs(): Promise<FlinkJob[]> {
    const body = (await this.get('/jobs/overview')) as { jobs: { jid: string; name: string; state: string; 'start-time': number; duration: number }[] };
    return body.jobs.map((j) => ({ id: j.jid, name: j.name, state: j.state, startTime: j['start-time'], durationMs: j.duration }));
  }

  /**
   * Records read from the sources (the source operators' numRecordsOut), records written to the sinks
   * (what the sink tasks received) and the Kafka consumer lag of the sources, summed over subtasks.
   */
  async records(jobId: string): Promise<{ in: number; out: number; lag: number; lateDropped: number }> {
    const body = (await this.get(`/jobs/${jobId}`)) as { vertices: { id: string; name: string; metrics: { 'read-records': number } }[] };
    let recordsIn = 0;
    let lag = 0;
    let lateDropped = 0;
    for (const vertex of body.vertices.filter((v) => !isRawReader(v.name))) {
      const base = `/jobs/${jobId}/vertices/${vertex.id}/subtasks/metrics`;
      const names = ((await this.get(base)) as { id: string }[]).map((m) => m.id);
      const wanted = names.filter((n) => /^Source__.*\.numRecordsOut$/.test(n) || /records-lag-max$/.test(n) || /numLateRecordsDropped$/.test(n));
      if (wanted.length === 0) continue;
      const values = (await this.get(`${base}?get=${wanted.map(encodeURIComponent).join(',')}&agg=sum`)) as { id: string; sum: number }[];
      for (const v of values) {
        if (/numRecordsOut$/.test(v.id)) recordsIn += v.sum;
        else if (/records-lag-max$/.test(v.id)) lag += Number.isFinite(v.sum) ? Math.max(0, v.sum) : 0;
        else lateDropped += v.sum;
      }
    }
    const out = body.vertices.filter((v) => /Sink|Writer/.test(v.name)).reduce((n, v) => n + (v.metrics['read-records'] ?? 0), 0);
    return { in: recordsIn, out, lag, lateDropped };
  }

  /**
   * Where each Kafka partition a job's sources read stands: `topic/partition` → the offset of the next record the
   * source will emit (its `currentOffset` metric + 1; 0 before the first record). Flink's metric names spell the
   * topic with `_` for each `.` (shop_public_orders for shop.public.orders): match topics the same way. Against the
   * topics' end offsets this is the job's real lag; the consumer's `records-lag-max` is only refreshed when the source fetches, so a
   * back-pressured source reports an old value for as long as it waits. Flink's REST metrics are up to
   * `metrics.fetcher.update-interval` (10 s) old.
   */
  async sourceOffsets(jobId: string): Promise<Map<string, number>> {
    const body = (await this.get(`/jobs/${jobId}`)) as { vertices: { id: string; name: string }[] };
    const values: { id: string; max: number }[] = [];
    for (const vertex of body.vertices.filter((v) => v.name.startsWith('Source'))) {
      const base = `/jobs/${jobId}/vertices/${vertex.id}/subtasks/metrics`;
      const names = ((await this.get(base)) as { id: string }[]).map((m) => m.id).filter(isCurrentOffset);
      if (names.length === 0) continue;
      values.push(...((await this.get(`${base}?get=${names.map(encodeURIComponent).join(',')}&agg=max`)) as { id: string; max: number }[]));
    }
    return sourcePositions(values);
  }

  /** The latest completed checkpoint: its id, time and external path (to resume from it). */
  async lastCheckpoint(jobId: string): Promise<{ id: number; at: number; path: string } | undefined> {
    const body = (await this.get(`/jobs/${jobId}/checkpoints`)) as {
      latest?: { completed?: { id: number; latest_ack_timestamp: number; external_path: string } | null };
    };
    const completed = body.latest?.completed;
    return completed ? { id: completed.id, at: completed.latest_ack_timestamp, path: completed.external_path } : undefined;
  }

  async cancel(jobId: string): Promise<void> {
    const response = await fetch(`${this.url}/jobs/${jobId}?mode=cancel`, { method: 'PATCH', signal: AbortSignal.timeout(10_000) }).catch((error: Error) => {
      throw new AppError('FLINK_UNAVAILABLE', `The Flink JobManager does not answer at ${this.url} (${error.message}).`);
    });
    if (!response.ok && response.status !== 202)
      throw new AppError('FLINK_SQL_ERROR', `Cancelling job ${jobId} failed: HTTP ${response.status} ${await response.text()}`);
  }

  private async get(path: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new AppError(
        'FLINK_UNAVAILABLE',
        `The Flink JobManager does not answer at ${this.url} (${(error as Error).message}): start it with \`npx rtrec stack up\` or set FLINK_REST_URL.`,
      );
    }
    if (!response.ok) throw new AppError('FLINK_UNAVAILABLE', `GET ${this.url}${path} → HTTP ${response.status}`);
    return response.json();
  }
}
