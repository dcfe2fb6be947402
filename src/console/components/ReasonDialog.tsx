/**
 * A modal dialog asking why (pause / resume by hand). The native <dialog> opened with showModal() keeps focus
 * inside and closes on Escape; focus starts in the reason field and goes back to the button that opened it.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from '../api';
import { FieldError } from './common';

export interface ReasonDialogProps {
  title: string;
  /** One line saying what will happen. */
  description: string;
  confirmLabel: string;
  /** Sends the request; a rejection is shown in the dialog. */
  onConfirm: (reason: string) => Promise<void>;
  onClose: () => void;
}

export function ReasonDialog({ title, description, confirmLabel, onConfirm, onClose }: ReasonDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const d = dialog.current;
    if (d !== null && !d.open) d.showModal();
    input.current?.focus();
    return () => {
      if (d?.open === true) d.close();
      if (opener?.isConnected === true) opener.focus();
    };
  }, []);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const text = reason.trim();
    if (text === '') {
      setProblem('Say why, in a few words: the reason goes into the audit log.');
      input.current?.focus();
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await onConfirm(text);
    } catch (err) {
      setProblem(messageOf(err));
      setBusy(false);
      input.current?.focus();
    }
  };

  return (
    <dialog
      ref={dialog}
      aria-labelledby="reason-dialog-title"
      aria-describedby="reason-dialog-description"
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <article>
        <header>
          <h2 id="reason-dialog-title">{title}</h2>
        </header>
        <form id="reason-form" onSubmit={submit} noValidate>
          <p id="reason-dialog-description">{description}</p>
          <label for="reason-input">Reason (recorded in the audit log)</label>
          <textarea
            id="reason-input"
            ref={input}
            data-testid="reason-input"
            rows={3}
            maxLength={500}
            required
            value={reason}
            aria-invalid={problem === null ? undefined : 'true'}
            aria-describedby={problem === null ? undefined : 'reason-error'}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <FieldError id="reason-error" messages={problem === null ? undefined : [problem]} />
        </form>
        <footer>
          <button type="button" class="secondary" onClick={onClose} disabled={busy} data-testid="cancel">
            Cancel
          </button>
          <button type="submit" form="reason-form" data-testid="confirm" aria-busy={busy ? 'true' : undefined} disabled={busy}>
            {confirmLabel}
          </button>
        </footer>
      </article>
    </dialog>
  );
}
