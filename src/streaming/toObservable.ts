import { Observable } from 'rxjs';
import { currentValve } from './Valve.js';

/**
 * Turns an AsyncIterator (opened per subscription) into a cold Observable that pulls one item at
 * a time, and only while the nearest stage downstream has room (its valve is open). Unsubscribing
 * stops pulling and calls `return()` at once, even while a `next()` is pending.
 * @internal
 */
export function toObservable<T>(open: () => AsyncIterator<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const valve = currentValve();
    const iterator = open();
    let finished = false;
    const pull = (): void => {
      if (subscriber.closed) return;
      if (valve !== undefined && !valve.open) return valve.whenOpen(pull);
      iterator.next().then(
        (result) => {
          if (subscriber.closed) return;
          if (result.done) {
            finished = true;
            subscriber.complete();
          } else {
            subscriber.next(result.value);
            pull(); // e.g. take(n) unsubscribed inside next(): pull() sees `closed` and stops
          }
        },
        (error: unknown) => {
          finished = true;
          if (!subscriber.closed) subscriber.error(error);
        },
      );
    };
    pull();
    return () => {
      if (!finished) iterator.return?.().catch(() => undefined);
    };
  });
}
