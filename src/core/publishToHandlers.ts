import {
  NotificationHandlersError,
  type NotificationHandlerFailure,
} from '../errors/NotificationHandlersError.js';
import type { Context } from './HandlerContext.js';
import type { Invoke } from './pipeline.js';

/** How `publish()` runs a notification's handlers. */
export type PublishStrategy = 'sequential' | 'parallel' | 'allSettled';

/** @internal */
export const PUBLISH_STRATEGIES: readonly PublishStrategy[] = [
  'sequential',
  'parallel',
  'allSettled',
];

/** @internal The handlers of one notification class, each with its behaviors composed. */
export interface NotificationRoute {
  readonly messageName: string;
  readonly handlers: readonly { readonly name: string; readonly invoke: Invoke }[];
}

/** @internal Runs the handlers as `strategy` says; see `PublishOptions.strategy`. */
export function publishToHandlers(
  route: NotificationRoute,
  notification: unknown,
  context: Context,
  strategy: PublishStrategy,
  concurrency: number,
  onExtraFailure: (error: unknown) => void,
): Promise<void> {
  if (strategy === 'sequential') return runSequentially(route, notification, context);
  return runConcurrently(route, notification, context, concurrency).then((failures) => {
    if (failures.length === 0) return;
    if (strategy === 'allSettled') {
      const inRegistrationOrder = [...failures].sort((a, b) => a.index - b.index);
      throw new NotificationHandlersError(
        route.messageName,
        inRegistrationOrder.map(({ handlerName, error }) => ({ handlerName, error })),
        route.handlers.length,
      );
    }
    failures.slice(1).forEach((f) => onExtraFailure(f.error));
    throw failures[0]!.error;
  });
}

async function runSequentially(
  route: NotificationRoute,
  notification: unknown,
  context: Context,
): Promise<void> {
  const { handlers } = route;
  const { signal } = context;
  for (let i = 0; i < handlers.length; i++) {
    if (signal.aborted) throw signal.reason;
    const handler = handlers[i]!;
    await handler.invoke(notification, context.forHandler(handler.name));
  }
}

interface IndexedFailure extends NotificationHandlerFailure {
  readonly index: number;
}

/**
 * Runs up to `limit` handlers at once and resolves, once all that started have finished, with
 * the failures in the order they happened. Starts no more handlers once the signal aborts.
 */
function runConcurrently(
  route: NotificationRoute,
  notification: unknown,
  context: Context,
  limit: number,
): Promise<IndexedFailure[]> {
  const { handlers } = route;
  return new Promise((resolve) => {
    const failures: IndexedFailure[] = [];
    let started = 0;
    let running = 0;
    const launch = (): void => {
      while (running < limit && started < handlers.length && !context.signal.aborted) {
        const index = started++;
        const handler = handlers[index]!;
        running++;
        let outcome: unknown;
        try {
          outcome = handler.invoke(notification, context.forHandler(handler.name));
        } catch (error) {
          outcome = Promise.reject(error);
        }
        Promise.resolve(outcome)
          .then(undefined, (error: unknown) => {
            failures.push({ index, handlerName: handler.name, error });
          })
          .then(() => {
            running--;
            launch();
          });
      }
      if (running === 0) resolve(failures);
    };
    launch();
  });
}
