import { ApiError } from '../api/http.ts';
import { humanError } from '../lib/errors.ts';

/**
 * Shows a failed call as a sentence saying what happened and what to do (lib/errors.ts), the
 * hub's own detail beneath it (which field, which email), and each field problem, so a refused
 * form says which field and why; never a bare error code or a stack trace.
 */
export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const { code, text } = humanError(error);
  const detail =
    error instanceof ApiError && error.message && !/^WF_/.test(error.message) ? error.message : '';
  const problems = error instanceof ApiError ? error.problems : [];
  return (
    <div role="alert" className="error" data-code={code}>
      <p>{text}</p>
      {detail && detail !== text && <p className="error-detail">{detail}</p>}
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
