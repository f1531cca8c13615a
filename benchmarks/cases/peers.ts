/**
 * Dispatch and notifications side by side with the peers (issue 8, point 1): @nestjs/cqrs
 * (`QueryBus`, `CommandBus`, `EventBus` in a Nest application context, as its docs set it up) and
 * mediatr-ts (decorated handler classes and its `Mediator`). Every handler does the same trivial
 * async work — answers the number its message carries — and every side returns the sum of the
 * answers (or the count of handler calls), which the harness checks: both sides did the same work.
 *
 * Two kinds of case: `<peer>-vs-direct`, whose baseline is the floor (the same handler instance
 * awaited directly), and the goal cases, which put fs-mediator against a peer in one process.
 *
 * The peers are loaded in `setup()` only (importing Nest takes most of a second here), so the children of
 * the other cases do not pay for them. Their handler classes are declared there too, after the
 * import: decorators run when a class is declared, and mediatr-ts keeps its registrations in a
 * process-wide table (its pipeline behaviors apply to every request of the process), so each
 * case registers only what it measures. A full run gives each case its own child process; quick
 * mode runs them all in one, in order (see `mediatrBehaviorCases`).
 */
import type { IEventHandler, IQueryHandler, ICommandHandler } from '@nestjs/cqrs';
import type {
  NotificationHandler as MediatrNotificationHandler,
  PipelineBehavior as MediatrPipelineBehavior,
  RequestHandler as MediatrRequestHandler,
} from 'mediatr-ts';
import {
  createMediator,
  handler,
  Notification,
  Query,
  requestBehavior,
  type NotificationHandler,
  type RequestHandler,
} from '../../src/index.js';
import type { BenchCase, Side } from '../harness.js';
import { steadyState } from './fixtures.js';

// ---------------------------------------------------------------------------------------------
// fs-mediator

/** The query of the fs-mediator sides: answered by the number it carries. */
class GetValue extends Query<number> {
  static readonly messageName = 'bench.peers.value';
  constructor(readonly value: number) {
    super();
  }
}

/** The notification of the fs-mediator sides. */
class ValueChanged extends Notification {
  static readonly messageName = 'bench.peers.valueChanged';
  constructor(readonly value: number) {
    super();
  }
}

class GetValueHandler implements RequestHandler<GetValue> {
  async handle(query: GetValue): Promise<number> {
    return query.value;
  }
}

/** Counts its calls in a shared tally, so the checksum proves that every handler ran. */
class CountCalls implements NotificationHandler<ValueChanged> {
  constructor(private readonly tally: { calls: number }) {}
  async handle(event: ValueChanged): Promise<void> {
    this.tally.calls += event.value;
  }
}

function fsMediator(behaviors: number) {
  const impl = new GetValueHandler();
  const passThrough = requestBehavior<GetValue>((_request, next) => next());
  const mediator = createMediator({
    handlers: [handler(GetValue, impl)],
    behaviors: Array.from({ length: behaviors }, () => passThrough),
  });
  return { impl, mediator, query: new GetValue(1) };
}

const sendSide = (behaviors = 0): Side => {
  const { mediator, query } = fsMediator(behaviors);
  return {
    label: `await mediator.send(req)${behaviors > 0 ? ` + ${behaviors} behaviors` : ''}`,
    async run(n) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += await mediator.send(query);
      return sum;
    },
  };
};

/** The floor: the same handler body awaited directly. */
const directSide = (label: string, call: () => Promise<number>): Side => ({
  label,
  async run(n) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await call();
    return sum;
  },
});

function publishSide(): Side {
  const tally = { calls: 0 };
  const mediator = createMediator({
    // Three handlers of one class would be one handler registered thrice: each gets its own name.
    handlers: [0, 1, 2].map((i) => {
      const counter = new CountCalls(tally);
      return handler(
        ValueChanged,
        { handle: (e: ValueChanged) => counter.handle(e) },
        { name: `count${i}` },
      );
    }),
  });
  const event = new ValueChanged(1);
  return {
    label: "await mediator.publish(event) ('sequential')",
    async run(n) {
      const before = tally.calls;
      for (let i = 0; i < n; i++) await mediator.publish(event);
      return tally.calls - before;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// @nestjs/cqrs

interface NestPeer {
  readonly query: Side;
  readonly command: Side;
  readonly publish: Side;
  /** The query handler instance the bus calls, awaited directly. */
  readonly directQuery: Side;
  readonly directCommand: Side;
}

/** A Nest application context with CqrsModule, one query, command and 3 event handlers. */
async function nestPeer(): Promise<NestPeer> {
  await import('reflect-metadata');
  const { Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const {
    Command,
    CommandBus,
    CommandHandler,
    CqrsModule,
    EventBus,
    EventsHandler,
    Query: NestQuery,
    QueryBus,
    QueryHandler,
  } = await import('@nestjs/cqrs');

  class GetValueQuery extends NestQuery<number> {
    constructor(readonly value: number) {
      super();
    }
  }
  class SetValueCommand extends Command<number> {
    constructor(readonly value: number) {
      super();
    }
  }
  class ValueChangedEvent {
    constructor(readonly value: number) {}
  }
  const tally = { calls: 0 };

  @QueryHandler(GetValueQuery)
  class GetValueQueryHandler implements IQueryHandler<GetValueQuery, number> {
    async execute(query: GetValueQuery): Promise<number> {
      return query.value;
    }
  }
  @CommandHandler(SetValueCommand)
  class SetValueCommandHandler implements ICommandHandler<SetValueCommand, number> {
    async execute(command: SetValueCommand): Promise<number> {
      return command.value;
    }
  }
  // Nest registers event handlers by class: three handlers are three classes.
  @EventsHandler(ValueChangedEvent)
  class CountA implements IEventHandler<ValueChangedEvent> {
    async handle(event: ValueChangedEvent): Promise<void> {
      tally.calls += event.value;
    }
  }
  @EventsHandler(ValueChangedEvent)
  class CountB implements IEventHandler<ValueChangedEvent> {
    async handle(event: ValueChangedEvent): Promise<void> {
      tally.calls += event.value;
    }
  }
  @EventsHandler(ValueChangedEvent)
  class CountC implements IEventHandler<ValueChangedEvent> {
    async handle(event: ValueChangedEvent): Promise<void> {
      tally.calls += event.value;
    }
  }
  @Module({
    imports: [CqrsModule.forRoot()],
    providers: [GetValueQueryHandler, SetValueCommandHandler, CountA, CountB, CountC],
  })
  class BenchModule {}

  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  const queryBus = app.get(QueryBus);
  const commandBus = app.get(CommandBus);
  const eventBus = app.get(EventBus);
  const queryHandler = app.get(GetValueQueryHandler);
  const commandHandler = app.get(SetValueCommandHandler);
  const query = new GetValueQuery(1);
  const command = new SetValueCommand(1);
  const event = new ValueChangedEvent(1);
  return {
    query: {
      label: 'await queryBus.execute(query) (@nestjs/cqrs)',
      async run(n) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += await queryBus.execute(query);
        return sum;
      },
    },
    command: {
      label: 'await commandBus.execute(command) (@nestjs/cqrs)',
      async run(n) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += await commandBus.execute(command);
        return sum;
      },
    },
    publish: {
      label: 'eventBus.publish(event) (@nestjs/cqrs; handlers not awaited)',
      async run(n) {
        const before = tally.calls;
        for (let i = 0; i < n; i++) {
          eventBus.publish(event);
          // publish() has called the handlers and returned: one await per op, as the other
          // sides have, lets their promises settle as they go instead of piling up.
          await undefined;
        }
        return tally.calls - before;
      },
    },
    directQuery: directSide('await handler.execute(query) (Nest query handler)', () =>
      queryHandler.execute(query),
    ),
    directCommand: directSide('await handler.execute(command) (Nest command handler)', () =>
      commandHandler.execute(command),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// mediatr-ts

interface MediatrPeer {
  readonly send: Side;
  readonly publish: Side;
  readonly direct: Side;
}

let mediatrBehaviorsRegistered = false;

/**
 * mediatr-ts with its default resolver (a new handler and behavior instance per call, as the
 * library does without a DI container), one request handler, 3 notification handlers and
 * `behaviors` pass-through pipeline behaviors (which apply to every request of the process).
 */
async function mediatrPeer(behaviors: 0 | 3): Promise<MediatrPeer> {
  const {
    Mediator,
    NotificationData,
    notificationHandler,
    pipelineBehavior,
    RequestData,
    requestHandler,
  } = await import('mediatr-ts');

  class GetValueRequest extends RequestData<number> {
    constructor(readonly value: number) {
      super();
    }
  }
  class ValueChangedNotification extends NotificationData {
    constructor(readonly value: number) {
      super();
    }
  }
  const tally = { calls: 0 };

  @requestHandler(GetValueRequest)
  class GetValueRequestHandler implements MediatrRequestHandler<GetValueRequest, number> {
    async handle(request: GetValueRequest): Promise<number> {
      return request.value;
    }
  }
  @notificationHandler(ValueChangedNotification)
  class CountA implements MediatrNotificationHandler<ValueChangedNotification> {
    async handle(event: ValueChangedNotification): Promise<void> {
      tally.calls += event.value;
    }
  }
  @notificationHandler(ValueChangedNotification)
  class CountB implements MediatrNotificationHandler<ValueChangedNotification> {
    async handle(event: ValueChangedNotification): Promise<void> {
      tally.calls += event.value;
    }
  }
  @notificationHandler(ValueChangedNotification)
  class CountC implements MediatrNotificationHandler<ValueChangedNotification> {
    async handle(event: ValueChangedNotification): Promise<void> {
      tally.calls += event.value;
    }
  }
  void [CountA, CountB, CountC];
  // Registered once per process: a second registration would add three more to every request.
  if (behaviors === 3 && !mediatrBehaviorsRegistered) {
    mediatrBehaviorsRegistered = true;
    // Pass-through, as a user writes one: hand back next()'s result.
    @pipelineBehavior()
    class PassA implements MediatrPipelineBehavior {
      async handle(_request: unknown, next: () => unknown): Promise<unknown> {
        return next();
      }
    }
    @pipelineBehavior()
    class PassB implements MediatrPipelineBehavior {
      async handle(_request: unknown, next: () => unknown): Promise<unknown> {
        return next();
      }
    }
    @pipelineBehavior()
    class PassC implements MediatrPipelineBehavior {
      async handle(_request: unknown, next: () => unknown): Promise<unknown> {
        return next();
      }
    }
    void [PassA, PassB, PassC];
  }

  const mediator = new Mediator();
  const request = new GetValueRequest(1);
  const event = new ValueChangedNotification(1);
  const impl = new GetValueRequestHandler();
  return {
    send: {
      label: `await mediator.send(request) (mediatr-ts${behaviors > 0 ? `, ${behaviors} behaviors` : ''})`,
      async run(n) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += await mediator.send(request);
        return sum;
      },
    },
    publish: {
      label: 'await mediator.publish(notification) (mediatr-ts; Promise.allSettled)',
      async run(n) {
        const before = tally.calls;
        for (let i = 0; i < n; i++) await mediator.publish(event);
        return tally.calls - before;
      },
    },
    direct: directSide('await handler.handle(request) (mediatr-ts handler)', () =>
      impl.handle(request),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Cases

const dispatchVsDirect: BenchCase[] = [
  {
    name: 'fs-mediator-send-vs-direct',
    title: 'fs-mediator send() vs awaiting the same handler (the floor; number-answering handler)',
    checksumPerOp: 1,
    setup() {
      const { impl, query } = fsMediator(0);
      return {
        baseline: directSide('await handler.handle(req)', () => impl.handle(query)),
        candidate: sendSide(),
      };
    },
  },
  {
    name: 'fs-mediator-send-3-behaviors-vs-direct',
    title: 'fs-mediator send() through 3 pass-through behaviors vs awaiting the same handler',
    checksumPerOp: 1,
    setup() {
      const { impl, query } = fsMediator(0);
      return {
        baseline: directSide('await handler.handle(req)', () => impl.handle(query)),
        candidate: sendSide(3),
      };
    },
  },
  {
    name: 'nestjs-query-vs-direct',
    title: '@nestjs/cqrs QueryBus.execute() vs awaiting the same handler (the floor)',
    checksumPerOp: 1,
    async setup() {
      const nest = await nestPeer();
      return { baseline: nest.directQuery, candidate: nest.query };
    },
  },
  {
    name: 'nestjs-command-vs-direct',
    title: '@nestjs/cqrs CommandBus.execute() vs awaiting the same handler (the floor)',
    checksumPerOp: 1,
    async setup() {
      const nest = await nestPeer();
      return { baseline: nest.directCommand, candidate: nest.command };
    },
  },
  {
    name: 'mediatr-ts-vs-direct',
    title: 'mediatr-ts send() vs awaiting the same handler (the floor)',
    checksumPerOp: 1,
    async setup() {
      const mediatr = await mediatrPeer(0);
      return { baseline: mediatr.direct, candidate: mediatr.send };
    },
  },
];

const sendVsPeers: BenchCase[] = [
  {
    name: 'send-vs-nestjs-query',
    headline: true,
    title:
      'fs-mediator send() vs @nestjs/cqrs QueryBus.execute() (no behaviors: @nestjs/cqrs has no pipeline for queries)',
    goal: { minSpeedup: 3 },
    checksumPerOp: 1,
    async setup() {
      const nest = await nestPeer();
      return { baseline: nest.query, candidate: sendSide() };
    },
  },
  {
    name: 'send-vs-mediatr-ts',
    headline: true,
    title: 'fs-mediator send() vs mediatr-ts send(), no behaviors',
    goal: { minSpeedup: 10 },
    checksumPerOp: 1,
    async setup() {
      const mediatr = await mediatrPeer(0);
      return { baseline: mediatr.send, candidate: sendSide() };
    },
  },
];

const publishVsPeers: BenchCase[] = [
  {
    name: 'publish-3-vs-nestjs-eventbus',
    headline: true,
    title:
      "fs-mediator publish() to 3 handlers, awaited ('sequential') vs @nestjs/cqrs EventBus.publish() to 3 @EventsHandler classes, which does NOT await its handlers (it calls them and returns)",
    // Counts handler calls: 3 per publish proves that every handler ran on both sides.
    checksumPerOp: 3,
    async setup() {
      const nest = await nestPeer();
      return { baseline: nest.publish, candidate: publishSide() };
    },
  },
  {
    name: 'publish-3-vs-mediatr-ts',
    title:
      "fs-mediator publish() to 3 handlers ('sequential') vs mediatr-ts publish() to 3 notification handlers (Promise.allSettled over new handler instances)",
    checksumPerOp: 3,
    async setup() {
      const mediatr = await mediatrPeer(0);
      return { baseline: mediatr.publish, candidate: publishSide() };
    },
  },
];

/**
 * mediatr-ts's pipeline behaviors apply to every request of the process, and its typed API has no
 * way to remove them: in quick mode's shared child (see run.ts) these cases come last, so that no
 * other mediatr-ts case runs through their behaviors.
 */
const mediatrBehaviorCases: BenchCase[] = [
  {
    name: 'mediatr-ts-3-behaviors-vs-direct',
    title:
      'mediatr-ts send() through 3 pass-through pipeline behaviors vs awaiting the same handler',
    checksumPerOp: 1,
    async setup() {
      const mediatr = await mediatrPeer(3);
      return { baseline: mediatr.direct, candidate: mediatr.send };
    },
  },
  {
    name: 'send-3-behaviors-vs-mediatr-ts-3-behaviors',
    title: 'fs-mediator send() vs mediatr-ts send(), each through 3 pass-through behaviors',
    checksumPerOp: 1,
    async setup() {
      const mediatr = await mediatrPeer(3);
      return { baseline: mediatr.send, candidate: sendSide(3) };
    },
  },
];

/**
 * The peer comparisons of issue 8: dispatch and notifications. All in the steady state (no forced
 * GC before each timed run, see BenchCase.gcBeforeRuns): the peers allocate more per call than
 * fs-mediator, and a forced full GC would charge them for a shrunken young generation too
 * (measured: Nest's EventBus.publish 6.4 µs/op in the steady state, 12.7 µs with forced GCs).
 */
export const peerCases: readonly BenchCase[] = [
  ...dispatchVsDirect,
  ...sendVsPeers,
  ...publishVsPeers,
  ...mediatrBehaviorCases,
].map(steadyState);
