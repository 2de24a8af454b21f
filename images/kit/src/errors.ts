/** An error that carries the HTTP status and the message a client should see. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const unauthorized = (message = 'not authenticated') => new HttpError(401, message);
export const forbidden = (message = 'forbidden') => new HttpError(403, message);
export const notFound = (message = 'not found') => new HttpError(404, message);

/** The one error body every service answers with. */
export interface ErrorBody {
  errors: { message: string }[];
}

export const errorBody = (message: string): ErrorBody => ({ errors: [{ message }] });
