/**
 * The server's metrics (docs/spec.md §13) in the Prometheus text format, with prom-client: requests by
 * operation and status with latency histograms, store call latencies, sweeps, purged and expired
 * services, engine events, the Node.js process; and a generic way to add counters and gauges
 * (store-reported stats, conflict retries, change-stream subscribers …) from anywhere.
 */
import type { ContextEvent, ContextServices, SweepResult } from '@cxs/core';
import type { MetricsSource, RequestInfo } from '@cxs/koa';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StoreCall } from './measured-store.js';

/** Request latency buckets, in seconds: 1 ms … 10 s. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Store call latency buckets, in seconds: 50 µs … 5 s. */
const STORE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5];

/**
 * One registry with the server's metrics. Hand {@link Metrics.source} to `createApp`'s
 * `health.metrics`, {@link Metrics.observeRequest} to its `onRequest`, {@link Metrics.observeStore}
 * to a `MeasuredStore`, and call {@link Metrics.watch} with the engine.
 *
 * @example
 * ```ts
 * const metrics = new Metrics();
 * metrics.gauge('cxs_change_subscribers', 'Open change-stream subscriptions', [], () => hub.size);
 * metrics.counter('cxs_conflict_retries_total', 'Writes retried after a conflict').inc();
 * ```
 */
export class Metrics {
  /** The prom-client registry (register more metrics on it directly if you like). */
  readonly registry = new Registry();
  readonly #requests: Counter<'operation' | 'method' | 'status'>;
  readonly #requestSeconds: Histogram<'operation' | 'status'>;
  readonly #storeSeconds: Histogram<'call' | 'outcome'>;
  readonly #sweeps: Counter<'outcome'>;
  readonly #sweepSeconds: Histogram<never>;
  readonly #lastSweep: Gauge<never>;
  readonly #swept: Counter<'action'>;
  readonly #events: Counter<'type'>;
  readonly #purged: Counter<never>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#requests = this.counter(
      'cxs_http_requests_total',
      'HTTP requests answered, by operation and status',
      ['operation', 'method', 'status'],
    );
    this.#requestSeconds = this.histogram(
      'cxs_http_request_duration_seconds',
      'Time from request to the end of the response, by operation and status',
      ['operation', 'status'],
      HTTP_BUCKETS,
    );
    this.#storeSeconds = this.histogram(
      'cxs_store_call_duration_seconds',
      'Store call latency by call (get, getMany, batch, iterate: until the iterator is done) and outcome',
      ['call', 'outcome'],
      STORE_BUCKETS,
    );
    this.#sweeps = this.counter('cxs_sweeps_total', 'Expiry / auto-complete sweeps run, by outcome', [
      'outcome',
    ]);
    this.#sweepSeconds = this.histogram(
      'cxs_sweep_duration_seconds',
      'Duration of one sweep',
      [],
      HTTP_BUCKETS,
    );
    this.#lastSweep = this.gauge(
      'cxs_sweep_last_success_timestamp_seconds',
      'When the last successful sweep ended (Unix time)',
    );
    this.#swept = this.counter('cxs_swept_services_total', 'Services the sweeps expired or auto-completed', [
      'action',
    ]);
    this.#purged = this.counter(
      'cxs_purged_services_total',
      'Services removed by purges (counts up while one runs)',
    );
    this.#events = this.counter('cxs_events_total', 'Engine events emitted after commit, by type', ['type']);
  }

  /** The exposition for `GET /metrics`. */
  readonly source: MetricsSource = {
    contentType: this.registry.contentType,
    render: () => this.registry.metrics(),
  };

  /** Get or create a counter (the same name gives the same counter). */
  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing !== undefined) return existing as Counter<L>;
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /**
   * Get or create a gauge; with `collect`, its value is read on each scrape (a store-reported
   * size, a number of subscribers).
   */
  gauge<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    collect?: () => number | Promise<number>,
  ): Gauge<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing !== undefined) return existing as Gauge<L>;
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      ...(collect === undefined
        ? {}
        : {
            async collect(this: Gauge<L>) {
              this.set(await collect());
            },
          }),
    });
  }

  /** Get or create a histogram. */
  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets: number[] = HTTP_BUCKETS,
  ): Histogram<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing !== undefined) return existing as Histogram<L>;
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** Count one answered request (give it to `createApp`'s `onRequest`). */
  readonly observeRequest = (info: RequestInfo): void => {
    const status = String(info.status);
    this.#requests.inc({ operation: info.operation, method: info.method, status });
    this.#requestSeconds.observe({ operation: info.operation, status }, info.ms / 1000);
  };

  /** Record one store call (give it to a `MeasuredStore`). */
  readonly observeStore = (call: StoreCall, seconds: number, ok: boolean): void => {
    this.#storeSeconds.observe({ call, outcome: ok ? 'ok' : 'error' }, seconds);
  };

  /** Record one sweep. */
  observeSweep(seconds: number, result: SweepResult | undefined): void {
    this.#sweeps.inc({ outcome: result === undefined ? 'error' : 'ok' });
    this.#sweepSeconds.observe(seconds);
    if (result === undefined) return;
    this.#lastSweep.set(Date.now() / 1000);
    this.#swept.inc({ action: 'expired' }, result.expired);
    this.#swept.inc({ action: 'auto-completed' }, result.autoCompleted);
  }

  /**
   * Expose the engine's counters (`engine.stats()`): writes re-read and re-applied after another
   * process changed the service, and calls that gave up with `CONFLICT` (shared stores); the pauses
   * maintenance took for slow requests.
   */
  watchEngineStats(engine: ContextServices): void {
    this.#collected('cxs_conflict_retries_total', 'Writes re-read and re-applied after a conflict', () => ({
      '': engine.stats().conflictRetries,
    }));
    this.#collected('cxs_conflicts_total', 'Calls answered CONFLICT once their retries ran out', () => ({
      '': engine.stats().conflicts,
    }));
    this.#collected(
      'cxs_maintenance_pauses_total',
      'Pauses purge and the sweep took because requests were slower than the latency budget',
      () => ({ '': engine.stats().maintenancePauses }),
    );
    this.#collected('cxs_maintenance_paused_seconds_total', 'Time purge and the sweep paused', () => ({
      '': engine.stats().maintenancePausedMs / 1000,
    }));
  }

  /**
   * Expose the counters a store reports in a `stats` property (the PostgreSQL store's statements,
   * batches, serialization retries, precondition failures, unavailable and failed operations,
   * pool errors) as `cxs_store_stats_total{stat}`; a store without one adds nothing.
   */
  watchStore(store: object): void {
    const read = (): Record<string, number> => {
      const stats = (store as { stats?: unknown }).stats;
      if (typeof stats !== 'object' || stats === null) return {};
      return Object.fromEntries(
        Object.entries(stats).filter((e): e is [string, number] => typeof e[1] === 'number'),
      );
    };
    if (Object.keys(read()).length === 0) return;
    this.#collected(
      'cxs_store_stats_total',
      'Counters the store reports (PostgreSQL: statements, batches, retries, preconditionFailures, unavailable, failures, poolErrors)',
      read,
      'stat',
    );
  }

  /** A counter whose values are read from `read` on each scrape (keyed by the label's value). */
  #collected(name: string, help: string, read: () => Record<string, number>, label?: string): void {
    if (this.registry.getSingleMetric(name) !== undefined) return;
    new Counter({
      name,
      help,
      labelNames: label === undefined ? [] : [label],
      registers: [this.registry],
      collect(this: Counter<string>) {
        this.reset();
        for (const [key, value] of Object.entries(read())) {
          if (label === undefined) this.inc(value);
          else this.inc({ [label]: key }, value);
        }
      },
    });
  }

  /** Count the engine's events (and purged services, as they go); returns the unsubscribe function. */
  watch(engine: ContextServices): () => void {
    return engine.on('*', (event: ContextEvent) => {
      this.#events.inc({ type: event.type });
      if (event.type === 'service.deleted' && event.reason === 'purged') this.#purged.inc();
    });
  }
}
