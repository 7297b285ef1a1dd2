// Enphase OAuth in the portal: send the owner to Enphase's approval page, and exchange the code
// Enphase hands back (through the callback route, or pasted) for a grant the hub keeps in its
// vault. The grant id is all the portal ever holds; the tokens never reach the browser.
import { useEffect, useState } from 'react';
import { type EnphaseGrant, vendorsApi } from '../api/vendors.ts';
import { ErrorNote } from './ErrorNote.tsx';

/** Where the callback route sends the owner back to (the page the flow started on). */
export const ENPHASE_RETURN_KEY = 'wattfleet.enphase.return';
/** The query parameter the callback route hands the code on with. */
export const ENPHASE_CODE_PARAM = 'enphase_code';

export function EnphaseAuthorise({
  siteId,
  onGrant,
}: {
  siteId: string;
  onGrant: (g: EnphaseGrant) => void;
}) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const exchange = async (value: string) => {
    setError(undefined);
    setBusy(true);
    try {
      onGrant(await vendorsApi.enphaseAuthorize(siteId, value.trim()));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  // Back from Enphase with a code: use it once and take it out of the address bar.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, on arrival
  useEffect(() => {
    const params = new URLSearchParams(location.search);
    const arrived = params.get(ENPHASE_CODE_PARAM);
    if (!arrived) return;
    params.delete(ENPHASE_CODE_PARAM);
    const qs = params.toString();
    history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
    setCode(arrived);
    void exchange(arrived);
  }, []);

  const start = async () => {
    setError(undefined);
    try {
      const { url } = await vendorsApi.enphaseAuthorizeUrl();
      sessionStorage.setItem(ENPHASE_RETURN_KEY, location.pathname);
      location.assign(url);
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <div className="enphase-auth">
      <p className="muted">Enphase systems are connected by approving Wattfleet at Enphase.</p>
      <button type="button" onClick={() => void start()}>
        Authorise at Enphase
      </button>
      <label>
        Code from Enphase <input value={code} onChange={(e) => setCode(e.target.value)} maxLength={500} />
      </label>
      <button type="button" disabled={!code.trim() || busy} onClick={() => void exchange(code)}>
        Use code
      </button>
      <ErrorNote error={error} />
    </div>
  );
}

/** `/vendors/enphase/callback?code=…`: hands the code to the page the flow started on. */
export function EnphaseCallbackPage() {
  useEffect(() => {
    const code = new URLSearchParams(location.search).get('code') ?? '';
    const back = sessionStorage.getItem(ENPHASE_RETURN_KEY) ?? '/';
    sessionStorage.removeItem(ENPHASE_RETURN_KEY);
    // Only a path of this portal: the stored value must not send anyone elsewhere.
    const path = back.startsWith('/') && !back.startsWith('//') ? back : '/';
    location.replace(`${path}?${ENPHASE_CODE_PARAM}=${encodeURIComponent(code)}`);
  }, []);
  return <h1 tabIndex={-1}>Connecting Enphase…</h1>;
}
