-- The anonymized public store on PostgreSQL (the seed prototype's stand-in for the DynamoDB API):
-- patient ID and favorite color only. rev orders writes so that replays are idempotent and an
-- older state never overwrites a newer one.
CREATE SCHEMA IF NOT EXISTS anon;

CREATE TABLE anon.patient (
  patient_id     uuid    PRIMARY KEY,
  favorite_color text    NOT NULL,
  rev            integer NOT NULL
);
