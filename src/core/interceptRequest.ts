import { checkScope, requestBehavior, type BehaviorRegistration } from './Behavior.js';
import { messageNameOf } from './MessageName.js';
import type { HandlerContext } from './HandlerContext.js';
import type { MaybePromise, MessageClass, RequestMessage, ResultOf } from './types.js';

/** Pre- and post-processing for one request class. Both steps are optional. */
export interface RequestInterceptor<M extends RequestMessage<any>> {
  /** Runs before the handler: throw to reject the request, return a replacement to transform it. */
  before?(request: M, context: HandlerContext): MaybePromise<M | void>;
  /** Runs after the handler succeeds: return the (possibly transformed) response. */
  after?(response: ResultOf<M>, request: M, context: HandlerContext): MaybePromise<ResultOf<M>>;
}

/**
 * Registers typed request/response interceptors that run for exactly `message` (not for other
 * requests). A thin, typed form of a scoped request behavior.
 *
 * @example
 * ```ts
 * createMediator({
 *   handlers,
 *   behaviors: [
 *     interceptRequest(PlaceOrder, {
 *       before: (cmd) => { if (cmd.quantity < 1) throw new RangeError('quantity must be ≥ 1'); },
 *       after: (orderId) => orderId.toUpperCase(),
 *     }),
 *   ],
 * });
 * ```
 */
export function interceptRequest<M extends RequestMessage<any>>(
  message: MessageClass<M>,
  interceptor: RequestInterceptor<M>,
): BehaviorRegistration {
  checkScope('request', [message]);
  const { before, after } = interceptor;
  if (before !== undefined && typeof before !== 'function')
    throw new TypeError("Interceptor 'before' must be a function.");
  if (after !== undefined && typeof after !== 'function')
    throw new TypeError("Interceptor 'after' must be a function.");
  return requestBehavior<M>(
    async (request, next, context) => {
      const replacement =
        before === undefined ? undefined : await before.call(interceptor, request, context);
      const effective = replacement ?? request;
      const response = await next(effective);
      return after === undefined ? response : after.call(interceptor, response, effective, context);
    },
    { for: [message], name: `${messageNameOf(message)} interceptor` },
  );
}
