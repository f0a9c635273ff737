import type { Logger } from '@clinical-ingest/intake-core';
import { logLevel, type logCreator } from 'kafkajs';

/** Routes kafkajs's own log lines through the redacting pino logger. */
export function kafkaLogCreator(log: Logger): logCreator {
  const child = log.child({ component: 'kafkajs' });
  return () => ({ level, log: entry }) => {
    const { message, ...rest } = entry;
    const extra = { broker: rest['broker'], clientId: rest['clientId'], error: rest['error'], groupId: rest['groupId'] };
    if (level === logLevel.ERROR || level === logLevel.NOTHING) child.error(extra, message);
    else if (level === logLevel.WARN) child.warn(extra, message);
    else if (level === logLevel.INFO) child.info(extra, message);
    else child.debug(extra, message);
  };
}
