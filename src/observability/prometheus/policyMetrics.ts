import type { Observable, Subscription } from 'rxjs';
import { LabeledCounts } from './LabeledCounts.js';
import type { MetricRegistrar } from './MetricRegistrar.js';

/**
 * What the adapter needs of a policy event: its `type` and `policy`; the fields each type carries
 * (`messageName`, `reason`, `key`, `from`, `to`, `kind`, `letter`) are read where present.
 *
 * @example
 * ```ts
 * const event: PolicyEventLike = { type: 'retry', policy: 'retry', messageName: 'orders.get' };
 * ```
 */
export interface PolicyEventLike {
  readonly type: string;
  readonly policy: string;
  readonly messageName?: string | undefined;
}

/**
 * A resilience policy as the adapter sees it: anything with `events` (retry, circuitBreaker,
 * timeout, bulkhead, rateLimit, memoryGuard, deadLetters). A circuit breaker's `snapshot()` is
 * read at scrape time for `circuit_state`.
 *
 * @example
 * ```ts
 * const policies: MetricsPolicy[] = [retry(), circuitBreaker(), deadLetters({ store })];
 * ```
 */
export interface MetricsPolicy {
  readonly events: Observable<PolicyEventLike>;
  /** The policy's name (a circuit breaker's, for `circuit_state`). */
  readonly name?: string;
  /** A circuit breaker's circuits. */
  snapshot?(): readonly { readonly key: string; readonly state: string }[];
}

const CIRCUIT_STATES = ['closed', 'open', 'halfOpen', 'isolated'] as const;

/** Field reads on events whose shape depends on their type. */
type Fields = Readonly<Record<string, unknown>>;
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * The resilience metrics: one subscription per policy, an increment per event (policy events
 * are rare: they report failures, retries and refusals, not successes), and circuit states read
 * from the breakers when scraped. Only `circuit_state` has a circuit `key` label, and only for
 * the circuits a breaker holds at the scrape (bounded by its `maxKeys`); the counters never carry
 * a key, whose values a user's `scope` function may not bound.
 * @internal
 */
export function policyMetrics(
  registrar: MetricRegistrar,
  policies: readonly MetricsPolicy[],
): Subscription[] {
  const retries = new LabeledCounts(['message', 'policy']);
  const giveUps = new LabeledCounts(['message', 'policy', 'reason']);
  // No circuit key: user keys are unbounded over time, and a counter's series live forever.
  const transitions = new LabeledCounts(['policy', 'from', 'to']);
  const circuitRejections = new LabeledCounts(['message', 'policy']);
  const bulkheadRejections = new LabeledCounts(['message', 'policy', 'reason']);
  const rateLimitRejections = new LabeledCounts(['message', 'policy', 'reason']);
  const memoryRejections = new LabeledCounts(['message', 'policy', 'reason']);
  const timeouts = new LabeledCounts(['message', 'policy', 'kind']);
  const deadLetters = new LabeledCounts(['message', 'policy', 'kind']);
  const deadLettersDropped = new LabeledCounts(['message', 'policy', 'reason']);
  const storeErrors = new LabeledCounts(['message', 'policy']);

  // A 'reject' event's reason tells which kind of policy refused the call.
  const rejectionsByReason = new Map<string, LabeledCounts>([
    ['queueFull', bulkheadRejections],
    ['queueTimeout', bulkheadRejections],
    ['maxWait', rateLimitRejections],
    ['maxQueue', rateLimitRejections],
    ['maxKeys', rateLimitRejections],
    ['tripped', memoryRejections],
    ['maxPause', memoryRejections],
  ]);

  const counter = (name: string, help: string, counts: LabeledCounts): void =>
    registrar.counter(name, help, counts.labelNames, (emit) => counts.forEach(emit));
  counter(
    'retries_total',
    'Retries a retry policy started (waits before another attempt).',
    retries,
  );
  counter(
    'retry_give_ups_total',
    'Failures a retry policy let through, by reason (attempts, budget, predicate, openCircuit, restartEndedEarly).',
    giveUps,
  );
  counter(
    'circuit_transitions_total',
    'Circuit breaker state changes, by from/to state (all circuits of a breaker together; see circuit_state for each circuit).',
    transitions,
  );
  counter(
    'circuit_rejections_total',
    'Calls a circuit breaker refused with a CircuitOpenError.',
    circuitRejections,
  );
  counter(
    'bulkhead_rejections_total',
    'Calls a bulkhead refused, by reason (queueFull, queueTimeout).',
    bulkheadRejections,
  );
  counter(
    'rate_limit_rejections_total',
    'Calls a rate limiter refused, by reason (maxWait, maxQueue, maxKeys).',
    rateLimitRejections,
  );
  counter(
    'memory_guard_rejections_total',
    'Calls a memory guard refused, by reason (tripped, maxPause).',
    memoryRejections,
  );
  counter('timeouts_total', 'Calls a timeout policy gave up on, by kind of limit.', timeouts);
  counter(
    'dead_letters_total',
    'Dead letters recorded, by kind (request, stream, item).',
    deadLetters,
  );
  counter(
    'dead_letters_dropped_total',
    'Dead letters lost, by reason (evicted by a full store, backlog of pending writes).',
    deadLettersDropped,
  );
  counter(
    'dead_letter_store_errors_total',
    'Dead letters that could not be built or written.',
    storeErrors,
  );

  const breakers = policies.filter((p) => typeof p.snapshot === 'function');
  registrar.gauge(
    'circuit_state',
    'Circuit breaker state, per live circuit (evicted circuits disappear): 1 for its state, 0 for the others (closed, open, halfOpen, isolated).',
    ['policy', 'key', 'state'],
    (emit) => {
      for (const breaker of breakers) {
        const policy = breaker.name ?? 'circuitBreaker';
        for (const circuit of breaker.snapshot!()) {
          for (const state of CIRCUIT_STATES) {
            emit({ policy, key: circuit.key, state }, circuit.state === state ? 1 : 0);
          }
        }
      }
    },
  );

  const onEvent = (event: PolicyEventLike): void => {
    const e = event as PolicyEventLike & Fields;
    const message = text(e.messageName);
    switch (e.type) {
      case 'retry':
        retries.add([message, e.policy]);
        break;
      case 'giveUp':
        giveUps.add([message, e.policy, text(e.reason)]);
        break;
      case 'stateChange':
        transitions.add([e.policy, text(e.from), text(e.to)]);
        break;
      case 'reject': {
        const reason = text(e.reason);
        const counts = rejectionsByReason.get(reason);
        if (counts !== undefined) counts.add([message, e.policy, reason]);
        else if ('state' in e) circuitRejections.add([message, e.policy]);
        break;
      }
      case 'timeout':
        timeouts.add([message, e.policy, text(e.kind)]);
        break;
      case 'deadLetter':
        deadLetters.add([message, e.policy, text((e.letter as Fields | undefined)?.kind)]);
        break;
      case 'dropped':
        deadLettersDropped.add([message, e.policy, text(e.reason)]);
        break;
      case 'storeError':
        storeErrors.add([message, e.policy]);
        break;
    }
  };
  return policies.map((policy) => policy.events.subscribe({ next: onEvent, error: () => {} }));
}
