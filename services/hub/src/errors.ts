/** One catalog of coded errors, each mapped to an HTTP status. Tests assert the code, never the text. */
export const ERRORS = {
  BAD_REQUEST: 400,
  INVALID_NAME: 400,
  INVALID_BODY: 400,
  UNKNOWN_PROFILE: 400,
  UNAUTHENTICATED: 403,
  FORBIDDEN: 403,
  XSRF_MISSING: 403,
  PROFILE_FORBIDDEN: 403,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  SERVER_NOT_FOUND: 404,
  PROFILE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  USER_EXISTS: 409,
  PROFILE_EXISTS: 409,
  NO_GPU_AVAILABLE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  SPAWN_FAILED: 500,
  SERVER_NOT_RUNNING: 503,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.status = ERRORS[code];
  }
}

export const hubError = (code: ErrorCode, message: string): HubError => new HubError(code, message);
