import { Observable, Subject } from 'rxjs';

/**
 * Where a policy announces its decisions. Emitting costs a property read when nobody listens;
 * a listener that throws is reported by RxJS (as an uncaught error on a later tick) and never
 * breaks the call that emitted.
 * @internal
 */
export class EventChannel<E> {
  readonly #subject = new Subject<E>();
  /** The events, for subscribers. */
  readonly events: Observable<E> = this.#subject.asObservable();

  /** True while someone listens: build an event only then. */
  get observed(): boolean {
    return this.#subject.observed;
  }

  emit(event: E): void {
    if (this.#subject.observed) this.#subject.next(event);
  }
}
