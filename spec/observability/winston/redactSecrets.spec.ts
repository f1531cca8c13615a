import { describe, expect, it, jest } from '@jest/globals';
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

describe('redactSecrets: regressions', () => {
  it('redacts secrets inside objects that have a toJSON() (ORM models, custom classes)', () => {
    class User {
      constructor(
        readonly name: string,
        readonly password: string,
      ) {}
      toJSON() {
        return { name: this.name, password: this.password };
      }
    }
    const user = new User('ann', 'hunter2');
    expect(redactSecrets({ user })).toEqual({ user: { name: 'ann', password: REDACTED } });
    expect(JSON.stringify(redactSecrets([user]))).not.toContain('hunter2');
    expect(user.password).toBe('hunter2');
  });

  it('survives a toJSON() that throws, returns itself, a primitive or a cycle', () => {
    const throws = { secret: 's', toJSON: () => { throw new Error('no'); } }; // prettier-ignore
    const self = {
      token: 't',
      id: 1,
      toJSON() {
        return this;
      },
    };
    const primitive = { toJSON: () => 'as text' };
    const outer: Record<string, unknown> = { id: 2 };
    const cyclic = { toJSON: () => ({ back: outer }) };
    outer.inner = cyclic;
    expect(redactSecrets({ throws, self, primitive, outer })).toEqual({
      throws: '[toJSON failed]',
      self: { token: REDACTED, id: 1, toJSON: self.toJSON },
      primitive: 'as text',
      outer: { id: 2, inner: { back: '[Circular]' } },
    });
  });

  it('calls toJSON() once, as JSON.stringify does (not on what it returns)', () => {
    const inner = { toJSON: jest.fn(() => ({ password: 'p' })), apiKey: 'k' };
    const outer = { toJSON: () => inner };
    expect(redactSecrets(outer)).toEqual({ toJSON: inner.toJSON, apiKey: REDACTED });
    expect(inner.toJSON).not.toHaveBeenCalled();
  });

  it.each([
    'auth',
    'Auth',
    'authToken',
    'auth_header',
    'AUTH_KEY',
    'basicAuth',
    'x-auth',
    'jwt',
    'idJwt',
    'accessKey',
    'access_key',
    'AWS_ACCESS_KEY_ID',
    'sessionId',
    'session_id',
    'SESSION_ID',
    'session',
    'userSession',
    'sessionKey',
    'sid',
    'connect.sid',
  ])('masks a field named %p', (key) => {
    expect(redactSecrets({ [key]: 'x', id: 1 })).toEqual({ [key]: REDACTED, id: 1 });
  });

  it.each([
    'author',
    'authorName',
    'Authority',
    'authenticated',
    'oauthProvider',
    'sessionCount',
    'sessionStartedAt',
    'sidebar',
    'side',
    'accessLevel',
    'keyboard',
  ])('keeps a field named %p', (key) => {
    expect(redactSecrets({ [key]: 'x' })).toEqual({ [key]: 'x' });
  });
});
