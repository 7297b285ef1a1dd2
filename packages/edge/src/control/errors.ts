// Handlers simply throw; the dispatcher turns the throw into a `failed` reply. A CommandError
// carries a stable code the hub and the portal can branch on; anything else is COMMAND_FAILED.

export class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}
