import { ContainerModule, type Newable, type ResolutionContext } from 'inversify';
import { checkScope, type Behavior, type BehaviorRegistration } from '../../core/Behavior.js';
import { describeValue, type HandlerRegistration } from '../../core/Handler.js';
import { handledMessagesOf } from '../../core/Handles.js';
import { Mediator, type MediatorOptions } from '../../core/Mediator.js';
import { kindOf } from '../../core/MessageName.js';
import type { MessageKind } from '../../errors/HandlerNotFoundError.js';
import type { MessageClass } from '../../core/types.js';

/** A handler class bound to a message class without decorators. */
export interface HandlerBinding {
  /** The message class handled. */
  readonly message: MessageClass;
  /** The handler class, resolved from the container on each dispatch. */
  readonly use: Newable<object>;
}

/** A behavior class resolved from the container. */
export interface BehaviorBinding {
  /** Which pipeline it wraps. */
  readonly kind: MessageKind;
  /** The behavior class, resolved from the container on each dispatch. */
  readonly use: Newable<Behavior>;
  /** Apply only to these message classes. Default: every message of the kind. */
  readonly for?: readonly MessageClass[];
}

/** Options of {@link MediatorModule}. */
export interface MediatorModuleOptions extends Omit<MediatorOptions, 'handlers' | 'behaviors'> {
  /**
   * Handler classes: `@Handles`-decorated classes, or `{ message, use }` pairs for classes without
   * decorators. Each is bound to itself unless already bound; its scope is the one given by
   * `@injectable(scope)` (or the container's default), and it is resolved on every dispatch, so
   * request-scoped and transient handlers get a fresh instance per call.
   */
  readonly handlers?: readonly (Newable<object> | HandlerBinding)[];
  /** Behaviors, first outermost: `{ kind, use, for? }` classes, or ready registrations from `requestBehavior()` and friends. */
  readonly behaviors?: readonly (BehaviorBinding | BehaviorRegistration)[];
}

/**
 * An inversify 8 container module that binds {@link Mediator} (as a singleton, under the
 * `Mediator` class itself) with handlers and behaviors resolved from the container, so their own
 * dependencies are injected and their scopes honoured. Registration errors (duplicate handlers,
 * duplicate message names, bad options) are thrown here, when the module is created.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * const container = new Container();
 * container.bind(OrderRepository).toSelf().inSingletonScope();
 * container.load(new MediatorModule({
 *   handlers: [GetOrderHandler, { message: PlaceOrder, use: PlaceOrderHandler }],
 *   behaviors: [{ kind: 'request', use: TimingBehavior }],
 * }));
 * const mediator = container.get(Mediator);
 * ```
 */
export class MediatorModule extends ContainerModule {
  constructor(options: MediatorModuleOptions = {}) {
    const { handlers = [], behaviors = [], ...mediatorOptions } = options;
    const handlerClasses = new Set<Newable<object>>();
    const behaviorClasses = new Set<Newable<object>>();
    const handlerPlan = handlers.flatMap((entry) => planHandler(entry, handlerClasses));
    const behaviorPlan = behaviors.map((entry) => planBehavior(entry, behaviorClasses));

    // Validate now, with resolvers that are never called: duplicates and bad options fail at
    // module creation, not at first use.
    const never: Resolver = () => () => {
      throw new Error('unreachable: resolved during validation');
    };
    new Mediator({
      ...mediatorOptions,
      handlers: handlerPlan.map((p) => p(never)),
      behaviors: behaviorPlan.map((p) => p(never)),
    });

    super((bindings) => {
      for (const type of [...handlerClasses, ...behaviorClasses]) {
        if (!bindings.isBound(type)) bindings.bind(type).toSelf();
      }
      bindings
        .bind(Mediator)
        .toDynamicValue((context: ResolutionContext) => {
          const get =
            <T>(type: Newable<T>) =>
            (): T =>
              context.get(type);
          return new Mediator({
            ...mediatorOptions,
            handlers: handlerPlan.map((p) => p(get)),
            behaviors: behaviorPlan.map((p) => p(get)),
          });
        })
        .inSingletonScope();
    });
  }
}

type Resolver = <T>(type: Newable<T>) => () => T;

function planHandler(
  entry: Newable<object> | HandlerBinding,
  classes: Set<Newable<object>>,
): ((get: Resolver) => HandlerRegistration)[] {
  if (typeof entry === 'function') {
    const messages = handledMessagesOf(entry);
    if (messages.length === 0) {
      throw new TypeError(
        `Handler class ${entry.name} has no @Handles(…) decorator; bind it as { message, use: ${entry.name} } instead.`,
      );
    }
    classes.add(entry);
    return messages.map((message) => (get) => ({
      message,
      name: entry.name,
      resolve: get(entry) as never,
      shared: false,
      identity: entry,
    }));
  }
  if (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.use === 'function' &&
    kindOf(entry.message) !== undefined
  ) {
    classes.add(entry.use);
    return [
      (get) => ({
        message: entry.message,
        name: entry.use.name,
        resolve: get(entry.use) as never,
        shared: false,
        identity: entry.use,
      }),
    ];
  }
  throw new TypeError(
    `Each entry of 'handlers' must be a @Handles class or { message, use }, got ${describeValue(entry)}.`,
  );
}

function planBehavior(
  entry: BehaviorBinding | BehaviorRegistration,
  classes: Set<Newable<object>>,
): (get: Resolver) => BehaviorRegistration {
  if ('resolve' in entry && typeof entry.resolve === 'function') return () => entry;
  const binding = entry as BehaviorBinding;
  if (
    typeof binding.use !== 'function' ||
    !['request', 'stream', 'notification'].includes(binding.kind)
  ) {
    throw new TypeError(
      `Each entry of 'behaviors' must be { kind: 'request' | 'stream' | 'notification', use: Class } or a registration, got ${describeValue(entry)}.`,
    );
  }
  const scope = checkScope(binding.kind, binding.for);
  classes.add(binding.use);
  return (get) => ({
    kind: binding.kind,
    for: scope,
    name: binding.use.name,
    resolve: get(binding.use),
    shared: false,
  });
}
