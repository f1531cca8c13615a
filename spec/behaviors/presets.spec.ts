import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  BackpressurePresets,
  BulkheadRejectedError,
  CircuitBreakerPresets,
  circuitBreaker,
  createMediator,
  handler,
  httpStatusOf,
  isDatabaseFailure,
  isHttpDependencyFailure,
  isTransientDatabaseError,
  isTransientHttpError,
  memoryGuard,
  RequestTimeoutError,
  ResourceLimitPresets,
  retry,
  RetryPresets,
} from '../../src/index.js';
import { GetOrder, order } from '../helpers/orders.js';

/** An error shaped like a client library's HTTP error. */
function httpError(status: number, shape: 'status' | 'statusCode' | 'axios' = 'status'): Error {
  const error = new Error(`HTTP ${status}`);
  if (shape === 'axios') Object.assign(error, { response: { status } });
  else Object.assign(error, { [shape]: status });
  return error;
}

function coded(code: string, onCause = false): Error {
  return onCause
    ? new TypeError('fetch failed', { cause: Object.assign(new Error('socket'), { code }) })
    : Object.assign(new Error(code), { code });
}

describe('isTransientHttpError', () => {
  it.each([408, 425, 429, 500, 502, 503, 504])('retries status %i', (status) => {
    expect(isTransientHttpError(httpError(status))).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 422, 501])('never retries status %i', (status) => {
    expect(isTransientHttpError(httpError(status))).toBe(false);
  });

  it('reads the status from statusCode and from an axios-style response', () => {
    expect(httpStatusOf(httpError(503, 'statusCode'))).toBe(503);
    expect(httpStatusOf(httpError(404, 'axios'))).toBe(404);
    expect(isTransientHttpError(httpError(404, 'axios'))).toBe(false);
    expect(httpStatusOf(new Error('plain'))).toBeUndefined();
    expect(httpStatusOf('text')).toBeUndefined();
  });

  it("retries network failures, on the error or on fetch's cause", () => {
    expect(isTransientHttpError(coded('ECONNRESET'))).toBe(true);
    expect(isTransientHttpError(coded('UND_ERR_CONNECT_TIMEOUT', true))).toBe(true);
    expect(isTransientHttpError(coded('ERR_INVALID_URL'))).toBe(false);
    expect(isTransientHttpError(new Error('boom'))).toBe(false);
  });

  it("retries this library's timeouts and admission rejections", () => {
    expect(isTransientHttpError(new RequestTimeoutError('GetQuote', 100))).toBe(true);
    expect(isTransientHttpError(new BulkheadRejectedError('k', 'queueFull', 1, 0))).toBe(true);
  });
});

describe('isTransientDatabaseError', () => {
  it.each(['40001', '40P01', '55P03', '53300', '57P01', '08006', '08001', 'ER_LOCK_DEADLOCK'])(
    'retries %s',
    (code) => expect(isTransientDatabaseError(coded(code))).toBe(true),
  );

  it.each(['23505', '42601', '22P02', 'ER_DUP_ENTRY'])('never retries %s', (code) => {
    expect(isTransientDatabaseError(coded(code))).toBe(false);
  });
});

describe('isDatabaseFailure and isHttpDependencyFailure', () => {
  it('do not blame the dependency for a wrong request', () => {
    expect(isDatabaseFailure(coded('23505'))).toBe(false);
    expect(isDatabaseFailure(coded('08006'))).toBe(true);
    expect(isDatabaseFailure(new Error('anything else'))).toBe(true);
    expect(isHttpDependencyFailure(httpError(404))).toBe(false);
    expect(isHttpDependencyFailure(httpError(429))).toBe(true);
    expect(isHttpDependencyFailure(httpError(503))).toBe(true);
    expect(isHttpDependencyFailure(coded('ECONNRESET'))).toBe(true);
  });
});

describe('presets', () => {
  it('are accepted by their factories and by the mediator', () => {
    for (const options of Object.values(RetryPresets)) expect(() => retry(options)).not.toThrow();
    for (const options of Object.values(CircuitBreakerPresets)) {
      expect(() => circuitBreaker(options)).not.toThrow();
    }
    for (const options of Object.values(ResourceLimitPresets)) {
      expect(() => memoryGuard({ ...options, readHeapUsed: () => 0 })).not.toThrow();
    }
    for (const streams of Object.values(BackpressurePresets)) {
      expect(() => createMediator({ streams })).not.toThrow();
    }
  });

  it('are frozen, so one caller cannot change them for everyone', () => {
    expect(Object.isFrozen(RetryPresets.HttpApi)).toBe(true);
    expect(() => {
      (RetryPresets.HttpApi as { maxAttempts: number }).maxAttempts = 99;
    }).toThrow(TypeError);
  });

  describe('RetryPresets.HttpApi', () => {
    beforeEach(() => {
      jest.useFakeTimers();
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    function mediatorFailingWith(errors: Error[]) {
      let calls = 0;
      const mediator = createMediator({
        handlers: [
          handler(GetOrder, (q) => {
            const error = errors[calls++];
            if (error !== undefined) throw error;
            return order(q.id);
          }),
        ],
        behaviors: [retry(RetryPresets.HttpApi)],
      });
      return { mediator, calls: () => calls };
    }

    it('retries a 503 until it succeeds', async () => {
      const { mediator, calls } = mediatorFailingWith([httpError(503), httpError(503)]);
      const answer = mediator.send(new GetOrder('1'));
      await jest.advanceTimersByTimeAsync(45_000);
      await expect(answer).resolves.toEqual(order('1'));
      expect(calls()).toBe(3);
    });

    it('does not retry a 404 (the seed preset did)', async () => {
      const notFound = httpError(404);
      const { mediator, calls } = mediatorFailingWith([notFound]);
      await expect(mediator.send(new GetOrder('1'))).rejects.toBe(notFound);
      expect(calls()).toBe(1);
    });
  });
});
