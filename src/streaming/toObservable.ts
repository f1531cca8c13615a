import { Observable } from 'rxjs';

/**
 * Turns an AsyncIterator (opened per subscription) into a cold Observable. Pulls one item at a
 * time and emits it; unsubscribing stops pulling and calls `return()` at once, even while a
 * `next()` is pending.
 * @internal
 */
export function toObservable<T>(open: () => AsyncIterator<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const iterator = open();
    let finished = false;
    const pull = (): void => {
      iterator.next().then(
        (result) => {
          if (subscriber.closed) return;
          if (result.done) {
            finished = true;
            subscriber.complete();
          } else {
            subscriber.next(result.value);
            if (!subscriber.closed) pull(); // e.g. take(n) unsubscribed inside next(): pull no more
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
