// Node secrets. The hub stores only what verifies, never what impersonates: the Ed25519 public key
// and a PBKDF2-SHA512 hash of the MQTT password in Mosquitto's own `$7$` format, so the same
// value can be written straight into a Mosquitto password file.
import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

const MOSQUITTO_ITERATIONS = 101;

export function newMqttPassword(): string {
  return randomBytes(24).toString('base64url');
}

export function hashMqttPassword(password: string, iterations = MOSQUITTO_ITERATIONS): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyMqttPassword(password: string, stored: string): boolean {
  const parts = stored.split('$');
  // ['', '7', iterations, salt, hash]
  if (parts.length !== 5 || parts[1] !== '7') return false;
  const iterations = Number(parts[2]);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 1_000_000) return false;
  const salt = Buffer.from(parts[3]!, 'base64');
  const expected = Buffer.from(parts[4]!, 'base64');
  const actual = pbkdf2Sync(password, salt, iterations, expected.length, 'sha512');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

// Enrollment codes: short enough to type on a phone, 60 bits of entropy, stored as a hash.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: no I, L, O, U

export function newEnrollmentCode(): string {
  const bytes = randomBytes(12);
  let out = '';
  for (let i = 0; i < 12; i++) out += ALPHABET[bytes[i]! % 32];
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}`;
}

export function normaliseEnrollmentCode(code: string): string {
  return code
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}

export function hashEnrollmentCode(code: string): string {
  return createHash('sha256').update(normaliseEnrollmentCode(code)).digest('hex');
}
