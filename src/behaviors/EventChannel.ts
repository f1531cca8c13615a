import { Observable, type Subscriber } from 'rxjs';

/**
 * Where a policy announces its decisions. Emitting costs a length check when nobody listens.
 * Listeners are kept in an array replaced on (un)subscription, so `emit` walks it without a
 * copy (a `Subject` copies its observers on every `next`, ~30 ns per event per listener). A
 * listener that throws is reported by RxJS (as an uncaught error on a later tick) and never
 * breaks the call that emitted; one that unsubscribes during an emit is not called again.
 * @internal
 */
export class EventChannel<E> {
  #listeners: readonly Subscriber<E>[] = [];

  /** The events, for subscribers. Never completes. */
  readonly events: Observable<E> = new Observable<E>((subscriber) => {
    this.#listeners = [...this.#listeners, subscriber];
    return () => {
      this.#listeners = this.#listeners.filter((listener) => listener !== subscriber);
    };
  });

  /** True while someone listens: build an event only then. */
  get observed(): boolean {
    return this.#listeners.length > 0;
  }

  emit(event: E): void {
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!.next(event);
  }
}
