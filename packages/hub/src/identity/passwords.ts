// argon2id password hashing. Parameters follow the OWASP minimum (19 MiB, 2 passes) so a login
// costs tens of milliseconds on a Raspberry Pi-class hub, not seconds.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { WattfleetError } from '@wattfleet/protocol';

const OPTIONS = { algorithm: 2 /* Argon2id */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
export const MIN_PASSWORD_LENGTH = 10;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false; // malformed stored hash: treat as a wrong password, never as a crash
  }
}

// Verified against when the email is unknown, so the answer takes as long as for a real user.
let dummy: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummy, password);
}

export function assertPasswordPolicy(password: string, path = '/body/newPassword'): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new WattfleetError('WF_VALIDATION', undefined, [
      { path, message: `must be at least ${MIN_PASSWORD_LENGTH} characters` },
    ]);
  }
}

/** A random password for first admins and admin-initiated resets (shown once). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
