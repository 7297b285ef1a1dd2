import { ApiError } from '../api/http.ts';

/**
 * Shows a failed call the way the hub described it (code, message and each field problem, so a
 * refused form says which field and why), never a stack trace.
 */
export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = error instanceof ApiError ? `${error.code}: ` : '';
  const problems = error instanceof ApiError ? error.problems : [];
  return (
    <div role="alert" className="error">
      <p>
        {code}
        {error.message}
      </p>
      {problems.length > 0 && (
        <ul data-testid="error-problems">
          {problems.map((p) => (
            <li key={`${p.path}|${p.message}`}>
              <code>{p.path || '/'}</code> {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
