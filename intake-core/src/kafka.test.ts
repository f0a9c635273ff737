import { describe, expect, it } from 'vitest';
import { kafkaSecurity, parseKafkaSecurity } from './kafka.js';

describe('kafkaSecurity', () => {
  it('is plaintext by default (the local platform)', () => {
    expect(kafkaSecurity(parseKafkaSecurity({}))).toEqual({});
  });

  it('TLS with the cluster CA and SCRAM-SHA-512 (Strimzi)', () => {
    const cfg = parseKafkaSecurity({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'consumer',
      KAFKA_SASL_PASSWORD: 'pw',
      KAFKA_SSL_CA: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----',
    });
    expect(kafkaSecurity(cfg)).toEqual({
      ssl: { ca: ['-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----'] },
      sasl: { mechanism: 'scram-sha-512', username: 'consumer', password: 'pw' },
    });
  });

  it('TLS with the system CAs', () => {
    expect(kafkaSecurity(parseKafkaSecurity({ KAFKA_SSL: 'true' }))).toEqual({ ssl: true });
  });

  it('a SASL mechanism without credentials names the missing variables', () => {
    expect(() => kafkaSecurity(parseKafkaSecurity({ KAFKA_SASL_MECHANISM: 'scram-sha-512' }))).toThrow(/KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
  });

  it('an unknown mechanism names the variable', () => {
    expect(() => parseKafkaSecurity({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/KAFKA_SASL_MECHANISM/);
  });
});
