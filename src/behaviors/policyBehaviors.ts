import type {
  BehaviorRegistration,
  NotificationBehavior,
  RequestBehavior,
  StreamBehavior,
} from '../core/Behavior.js';
import { describeValue } from '../core/Handler.js';
import { kindOf } from '../core/MessageName.js';
import type { MessageClass } from '../core/types.js';

/** The behaviors a policy puts in front of requests, streams and notification handlers. @internal */
export interface PolicyParts {
  readonly request?: RequestBehavior;
  readonly stream?: StreamBehavior;
  readonly notification?: NotificationBehavior;
}

/**
 * The registrations of one policy: one per kind it wraps. With `scope` (the policy's `for`
 * option), each registration covers the scoped classes of its kind, and a kind with none is
 * left out; a class the policy cannot wrap is a `TypeError` at configuration time.
 * @internal
 */
export function policyBehaviors(
  policy: string,
  scope: readonly unknown[] | undefined,
  parts: PolicyParts,
): BehaviorRegistration[] {
  const kinds = (['request', 'stream', 'notification'] as const).filter(
    (kind) => parts[kind] !== undefined,
  );
  if (scope !== undefined) {
    if (!Array.isArray(scope) || scope.length === 0) {
      throw new TypeError(
        `Option 'for' of ${policy}() must be a non-empty array of message classes, got ${describeValue(scope)}.`,
      );
    }
    for (const message of scope) {
      const kind = kindOf(message);
      if (!(kinds as readonly string[]).includes(kind as string)) {
        throw new TypeError(
          kind === undefined
            ? `Option 'for' of ${policy}() lists ${describeValue(message)}, which is not a message class.`
            : `Option 'for' of ${policy}() lists ${(message as { name: string }).name}, a ${kind} message; ${policy}() wraps ${listKinds(kinds)} messages only.`,
        );
      }
    }
  }
  const registrations: BehaviorRegistration[] = [];
  for (const kind of kinds) {
    const classes = scope?.filter((message) => kindOf(message) === kind) as
      MessageClass[] | undefined;
    if (classes?.length === 0) continue;
    const behavior = parts[kind]!;
    registrations.push({
      kind,
      for: classes,
      name: policy,
      resolve: () => behavior,
      shared: true,
    });
  }
  return registrations;
}

/** 'request', 'request and stream', 'request, stream and notification'. */
function listKinds(kinds: readonly string[]): string {
  return kinds.length < 2
    ? kinds.join('')
    : `${kinds.slice(0, -1).join(', ')} and ${kinds[kinds.length - 1]}`;
}
