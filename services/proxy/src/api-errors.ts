/** The REST API's errors: one catalog of codes, each mapped to an HTTP status. Tests assert codes, not wording. */

export const API_ERRORS = {
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_BODY: 400,
  INVALID_TARGET: 400,
  INVALID_PATH: 400,
  INVALID_DATE: 400,
  BODY_TOO_LARGE: 413,
  INTERNAL: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ApiErrorCode;
  readonly status: number;

  constructor(code: ApiErrorCode, message: string) {
    super(message);
    this.code = code;
    this.status = API_ERRORS[code];
  }

  /** The wire shape, CHP/JupyterHub style, plus the stable code. */
  toJSON(): { status: number; message: string; code: ApiErrorCode } {
    return { status: this.status, message: this.message, code: this.code };
  }
}
