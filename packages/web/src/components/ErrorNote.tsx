import { ApiError } from '../api/http.ts';

/** Shows a failed call the way the hub described it (code and message), never a stack trace. */
export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = error instanceof ApiError ? `${error.code}: ` : '';
  return (
    <p role="alert" className="error">
      {code}
      {error.message}
    </p>
  );
}
