import { describe, expect, it } from '@jest/globals';
import { REDACTED, redactSecrets } from '../../../src/observability/winston/index.js';
import { PlaceOrder } from '../../helpers/orders.js';

describe('redactSecrets', () => {
  it.each([
    'password',
    'userPassword',
    'passwd',
    'passphrase',
    'pass',
    'pwd',
    'secret',
    'clientSecret',
    'token',
    'accessToken',
    'refresh_token',
    'authorization',
    'Authorisation',
    'apiKey',
    'api_key',
    'X-API-KEY',
    'cookie',
    'Set-Cookie',
    'credentials',
    'privateKey',
    'private_key',
  ])('masks a field named %p', (key) => {
    expect(redactSecrets({ [key]: 'x', id: 1 })).toEqual({ [key]: REDACTED, id: 1 });
  });

  it.each(['passenger', 'compass', 'id', 'name', 'keyboard', 'authored'])(
    'keeps a field named %p',
    (key) => {
      expect(redactSecrets({ [key]: 'x' })).toEqual({ [key]: 'x' });
    },
  );

  it('masks at any depth, in arrays too, whatever the secret holds', () => {
    expect(
      redactSecrets({ a: [{ b: { token: { nested: 'x' } } }, 2], headers: { cookie: ['a', 'b'] } }),
    ).toEqual({ a: [{ b: { token: REDACTED } }, 2], headers: { cookie: REDACTED } });
  });

  it('copies class instances by their own enumerable fields and never modifies the input', () => {
    const message = new PlaceOrder('sku-1', 2);
    const withSecret = Object.assign(message, { apiKey: 'k' });
    expect(redactSecrets(withSecret)).toEqual({ sku: 'sku-1', quantity: 2, apiKey: REDACTED });
    expect(withSecret.apiKey).toBe('k');
  });

  it('keeps scalars, null, and objects with toJSON (dates, buffers) as they are', () => {
    const at = new Date(0);
    const bytes = Buffer.from('hi');
    expect(redactSecrets('text')).toBe('text');
    expect(redactSecrets(null)).toBe(null);
    expect(redactSecrets(undefined)).toBe(undefined);
    const copy = redactSecrets({ at, bytes }) as { at: Date; bytes: Buffer };
    expect(copy.at).toBe(at);
    expect(copy.bytes).toBe(bytes);
  });

  it('cuts cycles and deep nesting short', () => {
    const cyclic: Record<string, unknown> = { id: 1 };
    cyclic.self = cyclic;
    expect(redactSecrets(cyclic)).toEqual({ id: 1, self: '[Circular]' });
    const shared = { v: 1 };
    expect(redactSecrets({ a: shared, b: shared })).toEqual({ a: { v: 1 }, b: { v: 1 } }); // not a cycle
    const deep = { l1: { l2: { l3: { l4: { l5: { l6: { l7: 1 } } } } } } };
    expect(redactSecrets(deep)).toEqual({
      l1: { l2: { l3: { l4: { l5: { l6: '[Truncated]' } } } } },
    });
  });
});
