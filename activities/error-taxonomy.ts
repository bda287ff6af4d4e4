/**
 * One error taxonomy at the activity boundary. Activities throw Kickcall's errors
 * (`KickcallError`: a failure type and whether a retry can help); the workflows branch on
 * `ApplicationFailure.type`. Every activity the orchestration worker runs goes through
 * `withErrorTaxonomy`, so an error thrown deep inside one (a signing helper, an ID check)
 * reaches the workflow typed, and is not retried when retrying cannot help.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { KickcallError, nonRetryableFailureTypes } from '../workflows/errors.js';

/**
 * Turns an error into the ApplicationFailure the workflow branches on. Errors outside
 * the taxonomy stay plain (retried by Temporal's policy).
 */
export function toApplicationFailure(err: unknown): unknown {
  if (!(err instanceof KickcallError)) return err;
  return ApplicationFailure.create({
    type: err.failureType,
    message: err.message,
    nonRetryable: !err.retryable || nonRetryableFailureTypes.includes(err.failureType),
    cause: err,
    details: 'sipStatusCode' in err ? [{ sipStatusCode: err.sipStatusCode }] : [],
  });
}

type Activity = (...args: never[]) => Promise<unknown>;

/** The same activities, each rethrowing Kickcall's errors as typed failures. */
export function withErrorTaxonomy<T extends Record<string, Activity>>(activities: T): T {
  const wrapped: Record<string, Activity> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await activity(...args);
      } catch (err) {
        throw toApplicationFailure(err);
      }
    };
  }
  return wrapped as T;
}
