import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Container, injectable } from 'inversify';
import {
  DuplicateHandlerError,
  DuplicateMessageNameError,
  Handles,
  Mediator,
  MessageName,
  Query,
  requestBehavior,
  type RequestBehavior,
  type RequestHandler,
} from '../../../src/index.js';
import { MediatorModule } from '../../../src/integrations/inversify/index.js';

class Ping extends Query<string> {}
class Other extends Query<number> {}

@injectable()
class Greeter {
  greet(): string {
    return 'pong';
  }
}

@injectable()
@Handles(Ping)
class PingHandler implements RequestHandler<Ping> {
  static created = 0;
  constructor(private readonly greeter: Greeter) {
    PingHandler.created++;
  }
  handle(): string {
    return this.greeter.greet();
  }
}

@injectable('Singleton')
@Handles(Ping)
class SingletonPingHandler implements RequestHandler<Ping> {
  static created = 0;
  constructor() {
    SingletonPingHandler.created++;
  }
  handle(): string {
    return 'singleton';
  }
}

@injectable()
class PlainOtherHandler implements RequestHandler<Other> {
  handle(): number {
    return 42;
  }
}

@injectable()
class Doubling implements RequestBehavior<Other> {
  async handle(_: Other, next: () => Promise<number>): Promise<number> {
    return 2 * (await next());
  }
}

describe('MediatorModule', () => {
  it('binds Mediator as a singleton that resolves handlers with their dependencies', async () => {
    const container = new Container();
    container.bind(Greeter).toSelf();
    container.load(new MediatorModule({ handlers: [PingHandler] }));
    const mediator = container.get(Mediator);
    expect(container.get(Mediator)).toBe(mediator);
    expect(await mediator.send(new Ping())).toBe('pong');
  });

  it('resolves a transient handler on every dispatch and a singleton handler once', async () => {
    const transient = new Container();
    transient.bind(Greeter).toSelf();
    transient.load(new MediatorModule({ handlers: [PingHandler] }));
    const before = PingHandler.created;
    await transient.get(Mediator).send(new Ping());
    await transient.get(Mediator).send(new Ping());
    expect(PingHandler.created - before).toBe(2);

    const singleton = new Container();
    singleton.load(new MediatorModule({ handlers: [SingletonPingHandler] }));
    const first = SingletonPingHandler.created;
    await singleton.get(Mediator).send(new Ping());
    await singleton.get(Mediator).send(new Ping());
    expect(SingletonPingHandler.created - first).toBe(1);
  });

  it('registers handler classes without decorators as { message, use }', async () => {
    const container = new Container();
    container.load(new MediatorModule({ handlers: [{ message: Other, use: PlainOtherHandler }] }));
    expect(await container.get(Mediator).send(new Other())).toBe(42);
  });

  it('keeps a binding the user made, with its scope', async () => {
    const container = new Container();
    container.bind(Greeter).toSelf();
    container.bind(PingHandler).toSelf().inSingletonScope();
    container.load(new MediatorModule({ handlers: [PingHandler] }));
    const before = PingHandler.created;
    await container.get(Mediator).send(new Ping());
    await container.get(Mediator).send(new Ping());
    expect(PingHandler.created - before).toBe(1);
  });

  it('resolves behavior classes from the container, scoped by message type', async () => {
    const container = new Container();
    container.bind(Greeter).toSelf();
    container.load(
      new MediatorModule({
        handlers: [PingHandler, { message: Other, use: PlainOtherHandler }],
        behaviors: [
          { kind: 'request', use: Doubling, for: [Other] },
          requestBehavior(async (_r, next) => next()),
        ],
      }),
    );
    const mediator = container.get(Mediator);
    expect(await mediator.send(new Other())).toBe(84);
    expect(await mediator.send(new Ping())).toBe('pong');
  });

  it('throws a duplicate handler when the module is created, not at first use', () => {
    expect(() => new MediatorModule({ handlers: [PingHandler, SingletonPingHandler] })).toThrow(
      DuplicateHandlerError,
    );
  });

  it('throws on two message classes with one name when the module is created', () => {
    @MessageName('same')
    class A extends Query<void> {}
    @MessageName('same')
    class B extends Query<void> {}
    expect(
      () =>
        new MediatorModule({
          handlers: [
            { message: A, use: PlainOtherHandler },
            { message: B, use: PlainOtherHandler },
          ],
        }),
    ).toThrow(DuplicateMessageNameError);
  });

  it('rejects an undecorated class, a malformed entry and a bad behavior binding with TypeErrors', () => {
    expect(() => new MediatorModule({ handlers: [PlainOtherHandler] })).toThrow(/no @Handles/);
    expect(() => new MediatorModule({ handlers: [{ message: Other } as never] })).toThrow(
      TypeError,
    );
    expect(
      () => new MediatorModule({ behaviors: [{ kind: 'bogus', use: Doubling } as never] }),
    ).toThrow(TypeError);
    expect(
      () => new MediatorModule({ behaviors: [{ kind: 'request', use: Doubling, for: [] }] }),
    ).toThrow(/non-empty array/);
  });

  it('validates mediator options when the module is created', () => {
    expect(() => new MediatorModule({ publish: { concurrency: 0 } })).toThrow(RangeError);
  });
});
