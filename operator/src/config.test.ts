import { ConfigError } from '@clinical-ingest/intake-core';
import { describe, expect, it } from 'vitest';
import { parseOperatorConfig } from './config.js';

describe('operator configuration', () => {
  it('has defaults for everything', () => {
    const c = parseOperatorConfig({});
    // Camel-cased options, parsed once from the environment's variables.
    expect(c).toMatchObject({
      watchNamespace: '',
      leaderElection: true,
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
      workers: 2,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    [{ WORKERS: '0' }, /WORKERS/],
    [{ LEADER_ELECTION: 'maybe' }, /LEADER_ELECTION/],
    [{ LEASE_DURATION_SECONDS: '10', RENEW_DEADLINE_SECONDS: '10' }, /LEASE_DURATION_SECONDS > RENEW_DEADLINE_SECONDS/],
    [{ TLS_CERT_FILE: '/tls.crt' }, /TLS_CERT_FILE and TLS_KEY_FILE/],
    [{ CLIENT_CA_FILE: '/ca.crt' }, /CLIENT_CA_FILE/],
  ])('rejects %j, naming the variable', (env, message) => {
    expect(() => parseOperatorConfig(env)).toThrow(ConfigError);
    expect(() => parseOperatorConfig(env)).toThrow(message);
  });
});
