import type { ServerResponse } from 'node:http';

/** Ends a response with a whole body (headers only for HEAD). @internal */
export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headOnly: boolean,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    ...headers,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(headOnly ? undefined : body);
}

/** Calls a user's error hook; a hook that throws changes nothing. @internal */
export function report(onError: ((error: unknown) => void) | undefined, error: unknown): void {
  try {
    onError?.(error);
  } catch {
    // The response is already decided.
  }
}
