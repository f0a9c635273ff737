/**
 * Errors carry a stable code, whether a retry can help, and their cause (after platformatic/kafka
 * and kafkajs). Messages never hold patient data: they name what failed, not with which values.
 */
export class IngestError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  /**
   * The content of a record caused the failure (a value the store cannot hold): retrying the same
   * records cannot help, and a batch that failed this way is narrowed down to the records at fault.
   */
  readonly recordFault: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; recordFault?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IngestError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.recordFault = options.recordFault ?? false;
  }
}

/** Configuration is missing or wrong; the message names the environment variable. */
export class ConfigError extends IngestError {
  constructor(message: string) {
    super('CONFIG', message, { retriable: false });
    this.name = 'ConfigError';
  }
}
