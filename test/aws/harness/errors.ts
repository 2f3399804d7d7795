/** An error a service answers with: its code is the `__type` (JSON protocols), the Code (XML) or x-amzn-ErrorType (REST JSON). */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

/** AccessDeniedException as IAM words it. */
export function accessDenied(principal: string, action: string, resource: string): AwsError {
  return new AwsError(
    'AccessDeniedException',
    `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    400,
  );
}
