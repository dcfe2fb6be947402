/** Small shared pieces: data loading, state badges, times, errors. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from '../api';
import { formatTime, relative, STATE_LABEL } from '../format';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` when a key changes; answers of an older key are dropped. */
export function useLoad<T>(load: () => Promise<T>, keys: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  useEffect(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => {
        if (generation.current === mine) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (generation.current === mine) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    // `load` is a new closure each render: the keys say when to load again.
  }, [...keys, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge badge-${state}`}>{STATE_LABEL[state] ?? state}</span>;
}

export function Time({ iso, withRelative = false }: { iso: string | null | undefined; withRelative?: boolean }) {
  if (iso === null || iso === undefined) return <span>—</span>;
  const rel = withRelative ? relative(iso) : '';
  return (
    <time dateTime={iso} title={iso}>
      {formatTime(iso)}
      {rel === '' ? '' : ` (${rel})`}
    </time>
  );
}

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div class="notice notice-error" role="alert">
      <p>{messageOf(error)}</p>
      {onRetry === undefined ? null : (
        <button type="button" class="secondary outline" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p aria-busy="true" class="loading">
      Loading {what}…
    </p>
  );
}

/** Renders children once data is there; a spinner before, an error with "Try again" on failure. */
export function Show<T>({ loaded, what, children }: { loaded: Loaded<T>; what: string; children: (data: T) => ComponentChildren }) {
  if (loaded.data === undefined) {
    if (loaded.error !== undefined) return <ErrorNote error={loaded.error} onRetry={loaded.reload} />;
    return <Loading what={what} />;
  }
  return (
    <>
      {loaded.error === undefined ? null : <ErrorNote error={loaded.error} onRetry={loaded.reload} />}
      {children(loaded.data)}
    </>
  );
}

/** A field's validation message, tied to its input by id (aria-describedby). */
export function FieldError({ id, messages }: { id: string; messages: string[] | undefined }) {
  if (messages === undefined || messages.length === 0) return null;
  return (
    <small id={id} class="field-error" data-testid="field-error">
      {messages.join('; ')}
    </small>
  );
}

/** The page heading: focused on navigation so keyboard and screen-reader users start at the new screen. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement?.closest('nav') !== null) ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref} class="page-title">
      {children}
    </h1>
  );
}

export interface TextFieldProps {
  id: string;
  label: string;
  testId: string;
  value: string;
  onValue: (value: string) => void;
  /** Validation messages from the server, shown under the field and announced with it. */
  errors?: string[] | undefined;
  hint?: string;
  placeholder?: string;
  inputMode?: 'text' | 'numeric' | 'decimal';
  required?: boolean;
}

/** A labelled text input with its server-side validation messages beside it. */
export function TextField({ id, label, testId, value, onValue, errors, hint, placeholder, inputMode, required }: TextFieldProps) {
  const describedBy = [errors === undefined ? '' : `${id}-error`, hint === undefined ? '' : `${id}-hint`].filter((x) => x !== '').join(' ');
  return (
    <div>
      <label for={id}>{label}</label>
      <input
        id={id}
        data-testid={testId}
        value={value}
        placeholder={placeholder}
        inputMode={inputMode}
        required={required}
        aria-invalid={errors === undefined ? undefined : 'true'}
        aria-describedby={describedBy === '' ? undefined : describedBy}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
      <FieldError id={`${id}-error`} messages={errors} />
      {hint === undefined ? null : (
        <small id={`${id}-hint`} class="field-hint">
          {hint}
        </small>
      )}
    </div>
  );
}

/** The header row of a table of counts and rates (rolling windows, chart buckets). */
export function RateTableHead({ first }: { first: string }) {
  return (
    <thead>
      <tr>
        {[first, 'Sent', 'Hard bounces', 'Hard-bounce rate', 'Failures', 'Failure rate'].map((h) => (
          <th key={h} scope="col">
            {h}
          </th>
        ))}
      </tr>
    </thead>
  );
}
