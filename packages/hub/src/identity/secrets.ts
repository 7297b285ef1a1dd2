// The JWT signing key: from configuration, or generated once and kept in the database so every
// hub instance (and every restart) signs and verifies with the same key.
import { randomBytes } from 'node:crypto';
import type { HubContext } from '../context.ts';
import { ensureSecret } from './secrets.repository.ts';

export async function loadJwtSecret(hub: HubContext): Promise<string> {
  if (hub.config.jwtSecret) return hub.config.jwtSecret;
  return ensureSecret(hub.db, 'jwt', randomBytes(48).toString('base64url'));
}
