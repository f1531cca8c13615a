import type { OperatorFunction } from 'rxjs';
import type { StageContext, StreamOperator } from '../streaming/StreamOperator.js';
import { ObservableIterator } from '../streaming/ObservableIterator.js';
import { pullable } from '../streaming/pullable.js';

type Stage<T, R> = StreamOperator<T, R> | OperatorFunction<T, R>;

/**
 * What `createStream()` returns: an AsyncIterable for `for await`, with `pipe()` to add stages.
 * The library's operators (`batch`, `parallel`, …) run as hand-written pull stages; a plain RxJS
 * operator (`map`, `filter`, …) runs on a pull-aware Observable bridged back with the stream's
 * bounded buffer. Either way the source is read only as fast as the loop reads. Each
 * `for await` (each `[Symbol.asyncIterator]()` call) runs the pipeline anew.
 *
 * @example
 * ```ts
 * for await (const saved of mediator.createStream(new ExportOrders()).pipe(batch(100), parallel(saveBatch))) {
 *   log(saved);
 * }
 * ```
 */
export class MediatorStream<T> implements AsyncIterable<T> {
  readonly #open: () => AsyncIterator<T>;
  readonly #context: StageContext;

  /** @internal Made by the mediator; use `createStream()`. */
  constructor(open: () => AsyncIterator<T>, context: StageContext) {
    this.#open = open;
    this.#context = context;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#open();
  }

  pipe(): MediatorStream<T>;
  pipe<A>(op1: Stage<T, A>): MediatorStream<A>;
  pipe<A, B>(op1: Stage<T, A>, op2: Stage<A, B>): MediatorStream<B>;
  pipe<A, B, C>(op1: Stage<T, A>, op2: Stage<A, B>, op3: Stage<B, C>): MediatorStream<C>;
  pipe<A, B, C, D>(
    op1: Stage<T, A>,
    op2: Stage<A, B>,
    op3: Stage<B, C>,
    op4: Stage<C, D>,
  ): MediatorStream<D>;
  pipe<A, B, C, D, E>(
    op1: Stage<T, A>,
    op2: Stage<A, B>,
    op3: Stage<B, C>,
    op4: Stage<C, D>,
    op5: Stage<D, E>,
  ): MediatorStream<E>;
  pipe<A, B, C, D, E, F>(
    op1: Stage<T, A>,
    op2: Stage<A, B>,
    op3: Stage<B, C>,
    op4: Stage<C, D>,
    op5: Stage<D, E>,
    op6: Stage<E, F>,
  ): MediatorStream<F>;
  pipe(...stages: Stage<any, any>[]): MediatorStream<any>;
  pipe(...stages: Stage<any, any>[]): MediatorStream<any> {
    if (stages.length === 0) return this;
    const context = this.#context;
    const source: AsyncIterable<unknown> = { [Symbol.asyncIterator]: this.#open };
    const open = (): AsyncIterator<unknown> => {
      const piped = stages.reduce(
        (upstream, stage) => applyStage(stage, upstream, context),
        source,
      );
      return piped[Symbol.asyncIterator]();
    };
    return new MediatorStream(open, context);
  }
}

function applyStage(
  stage: Stage<unknown, unknown>,
  source: AsyncIterable<unknown>,
  context: StageContext,
): AsyncIterable<unknown> {
  const { iterate } = stage as Partial<StreamOperator<unknown, unknown>>;
  if (typeof iterate === 'function') return iterate(source, context);
  if (typeof stage !== 'function') {
    throw new TypeError(`pipe() takes stream operators or RxJS operators, got ${String(stage)}.`);
  }
  // A plain RxJS operator: run it on a pull-aware Observable and read it back through the
  // bounded bridge, whose valve keeps the source from running ahead of this loop.
  const { bufferCapacity, overflow, monitor } = context.options;
  return {
    [Symbol.asyncIterator]: () =>
      new ObservableIterator(
        stage(pullable(source)),
        bufferCapacity,
        overflow === 'block' ? 'error' : overflow,
        monitor,
        context.stream,
      ),
  };
}
