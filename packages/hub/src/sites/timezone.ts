/** True for an IANA zone this runtime knows (Europe/Berlin, Asia/Kathmandu, …). */
export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz.length > 0 && tz.length < 64;
  } catch {
    return false;
  }
}
