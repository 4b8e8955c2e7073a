// Operators who may decode Temporal payloads through the codec endpoint, each with a bearer token. A
// short token is refused wherever tokens are loaded: an empty one would match a request with no token.
import { CarebellError } from '../domain/errors';

export interface Operator {
  name: string;
  token: string;
}

export const MIN_OPERATOR_TOKEN_LENGTH = 24;

/** Throws, naming where the tokens came from and never the token, if any is too short to be a secret. */
export function checkOperatorTokens(operators: Operator[], source: string): Operator[] {
  if (operators.length === 0) throw new CarebellError('InvalidConfiguration', `${source}: no operator token`);
  for (const operator of operators) {
    if (operator.token.length < MIN_OPERATOR_TOKEN_LENGTH)
      throw new CarebellError(
        'InvalidConfiguration',
        `${source}: the operator token of ${operator.name} has ${operator.token.length} characters; ` +
          `tokens need ${MIN_OPERATOR_TOKEN_LENGTH} or more`,
      );
  }
  return operators;
}
