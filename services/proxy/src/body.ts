/** Reading a bounded JSON request body. */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-errors.ts';

export const MAX_BODY_BYTES = 64 * 1024;

/** Read and parse the body; an empty body is `{}` (as in CHP). Rejects with ApiError 400 or 413. */
export function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new ApiError('BODY_TOO_LARGE', `request body is larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (error: ApiError) => {
      if (done) return;
      done = true;
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        fail(new ApiError('BODY_TOO_LARGE', `request body is larger than ${limit} bytes`));
        return;
      }
      if (!done) chunks.push(chunk);
    });
    req.on('error', () => fail(new ApiError('BAD_REQUEST', 'request body could not be read')));
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        resolve({});
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new ApiError('INVALID_JSON', 'request body is not valid JSON'));
      }
    });
  });
}
