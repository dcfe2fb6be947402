/** Sign-in with an API key: POST /console/session keeps it server-side; the browser only holds an HttpOnly cookie. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, messageOf, signIn } from '../api';
import type { Session } from '../types';

function explain(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return 'That API key was not accepted. Check that you copied the whole key and that it has not been revoked.';
    if (e.status === 403) return `This key cannot use the console: ${messageOf(e)}`;
    if (e.status === 422) return e.errors.length > 0 ? e.errors.map((x) => x.message).join('; ') : messageOf(e);
    if (e.status === 429) return 'Too many failed attempts. Wait a minute, then try again.';
  }
  return messageOf(e);
}

export function SignInScreen({ notice, onSignedIn }: { notice: string | null; onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · Drason console';
    input.current?.focus();
  }, []);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const apiKey = key.trim();
    if (apiKey === '') {
      setProblem('Enter your API key.');
      input.current?.focus();
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      onSignedIn(await signIn(apiKey));
    } catch (err) {
      setProblem(explain(err));
      setBusy(false);
      input.current?.focus();
    }
  };

  return (
    <main id="main" class="container narrow signin">
      <article>
        <header>
          <h1>Drason console</h1>
          <p>Sign in with one of your organization's API keys (admin, operator or viewer).</p>
        </header>
        {notice === null ? null : (
          <p class="notice" role="status" data-testid="signin-notice">
            {notice}
          </p>
        )}
        <form onSubmit={submit} noValidate>
          <label for="signin-key">API key</label>
          <input
            id="signin-key"
            ref={input}
            data-testid="signin-key"
            type="password"
            name="apiKey"
            autoComplete="off"
            spellcheck={false}
            value={key}
            aria-invalid={problem === null ? undefined : 'true'}
            aria-describedby={problem === null ? 'signin-help' : 'signin-error signin-help'}
            onInput={(e) => setKey(e.currentTarget.value)}
          />
          {problem === null ? null : (
            <p id="signin-error" class="field-error" role="alert" data-testid="signin-error">
              {problem}
            </p>
          )}
          <small id="signin-help">The key stays on the server for this session; the browser keeps only a session cookie.</small>
          <button type="submit" data-testid="signin-submit" aria-busy={busy ? 'true' : undefined} disabled={busy}>
            Sign in
          </button>
        </form>
      </article>
    </main>
  );
}
