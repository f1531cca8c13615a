/**
 * Messages, handlers, sources and sides shared by the benchmark cases (dispatch, streams,
 * resilience, observability). Each case builds its own mediator, and no mediator registers two of
 * these classes under one message name, so the classes are shared rather than redeclared per
 * module. Every benchmark child process runs a single case (see run.ts), so sharing these
 * functions between modules does not mix the JIT feedback of different cases.
 */
import {
  handler,
  Query,
  StreamRequest,
  type BehaviorRegistration,
  type BehaviorSet,
} from '../../src/index.js';
import type { BenchCase, SetupContext, Side } from '../harness.js';

// ---------------------------------------------------------------------------------------------
// Requests and handlers

/**
 * The answer of {@link GetOrderTotal}: a small object.
 *
 * @example
 * ```ts
 * const answer: OrderTotal = { orderId: 7, total: 1 };
 * ```
 */
export interface OrderTotal {
  readonly orderId: number;
  readonly total: number;
}

/**
 * The query of the `send()` cases, answered by {@link getOrderTotal} (or, in the dispatch cases,
 * by a handler class of the same body).
 *
 * @example
 * ```ts
 * const mediator = createMediator({ handlers: [handler(GetOrderTotal, getOrderTotal)] });
 * const { total } = await mediator.send(new GetOrderTotal(7));
 * ```
 */
export class GetOrderTotal extends Query<OrderTotal> {
  static readonly messageName = 'bench.orders.total';
  constructor(readonly orderId: number) {
    super();
  }
}

/**
 * An async handler of {@link GetOrderTotal} answering with a small object (as the dispatch
 * cases' handler class does).
 *
 * @example
 * ```ts
 * handler(GetOrderTotal, getOrderTotal);
 * ```
 */
export const getOrderTotal = async (query: GetOrderTotal): Promise<OrderTotal> => ({
  orderId: query.orderId,
  total: 1,
});

/**
 * The numbers 1..n, one `await` per item, as a handler's `async *` yields them: the shared
 * source of the stream cases.
 *
 * @example
 * ```ts
 * const sum = await sumItems(countTo(4)); // 10
 * ```
 */
export async function* countTo(n: number): AsyncGenerator<number> {
  for (let i = 1; i <= n; i++) yield i;
}

/**
 * The same numbers from a synchronous generator (a `function*` handler).
 *
 * @example
 * ```ts
 * [...countToSync(3)]; // [1, 2, 3]
 * ```
 */
export function* countToSync(n: number): Generator<number> {
  for (let i = 1; i <= n; i++) yield i;
}

/**
 * Stream request of the numbers 1..n, handled by {@link countTo} (an `async *` handler).
 *
 * @example
 * ```ts
 * const mediator = createMediator({ handlers: [handler(CountTo, (req: CountTo) => countTo(req.n))] });
 * await sumItems(mediator.createStream(new CountTo(100)));
 * ```
 */
export class CountTo extends StreamRequest<number> {
  static readonly messageName = 'bench.countTo';
  constructor(readonly n: number) {
    super();
  }
}

/**
 * Stream request of the numbers 1..n, handled by {@link countToSync} (a `function*` handler, a
 * synchronous Iterable). Its message name differs from {@link CountTo}'s, so one mediator can
 * register both.
 *
 * @example
 * ```ts
 * handler(CountToSync, (req: CountToSync) => countToSync(req.n));
 * ```
 */
export class CountToSync extends StreamRequest<number> {
  static readonly messageName = 'bench.countToSync';
  constructor(readonly n: number) {
    super();
  }
}

/**
 * The handlers of {@link CountTo} ({@link countTo}) and {@link CountToSync} ({@link countToSync}),
 * to register in a mediator (a registration can serve several mediators).
 *
 * @example
 * ```ts
 * const mediator = createMediator({ handlers: [...countToHandlers] });
 * ```
 */
export const countToHandlers = [
  handler(CountTo, (req: CountTo) => countTo(req.n)),
  handler(CountToSync, (req: CountToSync) => countToSync(req.n)),
] as const;

/**
 * What a mediator's `behaviors` option takes.
 *
 * @example
 * ```ts
 * const behaviors: Behaviors = [retry(), timeout(10_000)];
 * ```
 */
export type Behaviors = readonly (BehaviorRegistration | BehaviorSet)[];

// ---------------------------------------------------------------------------------------------
// Consumers and sides

/**
 * The consumer of per-item streams: the sum of the items, drained by `for await`.
 *
 * @example
 * ```ts
 * await sumItems(countTo(4)); // 10
 * ```
 */
export async function sumItems(items: AsyncIterable<number>): Promise<number> {
  let sum = 0;
  for await (const item of items) sum += item;
  return sum;
}

/**
 * The consumer of batched streams: touches every item of every batch, as a per-item consumer
 * does, and returns their sum.
 *
 * @example
 * ```ts
 * await sumBatches(mediator.createStream(new CountToSync(1000)).pipe(batch<number>(100)));
 * ```
 */
export async function sumBatches(batches: AsyncIterable<readonly number[]>): Promise<number> {
  let sum = 0;
  for await (const items of batches) for (const item of items) sum += item;
  return sum;
}

/**
 * 1 + 2 + … + n: the checksum of one stream of {@link countTo}(n).
 *
 * @example
 * ```ts
 * triangle(4); // 10
 * ```
 */
export const triangle = (n: number): number => (n * (n + 1)) / 2;

/**
 * A side moving one stream of `n` items per iteration (timed per item), checked by the sum of its
 * items, {@link triangle}(n) per stream.
 *
 * @example
 * ```ts
 * const side = streamSide('for await (x of asyncGenerator)', 10_000, () => sumItems(countTo(10_000)));
 * ```
 */
export function streamSide(label: string, n: number, oneStream: () => Promise<number>): Side {
  return {
    label,
    itemsPerOp: n,
    checksumPerOp: triangle(n),
    async run(iterations) {
      let sum = 0;
      for (let i = 0; i < iterations; i++) sum += await oneStream();
      return sum;
    },
  };
}

/**
 * Items of one long stream: 1,000,000 as the issues say; 100,000 in quick mode.
 *
 * @example
 * ```ts
 * setup(context) {
 *   const n = longStreamSize(context);
 *   // …
 * }
 * ```
 */
export const longStreamSize = ({ quick }: SetupContext): number => (quick ? 100_000 : 1_000_000);

/**
 * Steady-state stream throughput: the case without a forced GC before each timed run (see
 * BenchCase.gcBeforeRuns).
 *
 * @example
 * ```ts
 * export const cases = streamCases.map(steadyState);
 * ```
 */
export const steadyState = (bench: BenchCase): BenchCase => ({ ...bench, gcBeforeRuns: false });
