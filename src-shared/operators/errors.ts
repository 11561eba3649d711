import { UserInputError } from '../errors.js';

/** Bad forward-model input (M.json content, its files, shapes): the CLI reports it and exits with code 2. */
export class ForwardModelInputError extends UserInputError {
  constructor(message: string) {
    super(message);
    this.name = 'ForwardModelInputError';
  }
}

/** A tensor of the wrong shape or dtype handed to an operator. */
export class OperatorInputError extends UserInputError {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorInputError';
  }
}

/** Bad noise input (non-positive σ, σ map of the wrong shape). */
export class NoiseInputError extends UserInputError {
  constructor(message: string) {
    super(message);
    this.name = 'NoiseInputError';
  }
}
