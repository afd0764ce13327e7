// Shared widgets: react-aria-components for fields and forms (labels, focus and error
// wiring done right), a plain semantic table, and a form that puts the server's field errors
// next to their fields (keyed by input name). The errors stay until the next submit: cleared on
// blur (RAC's validationErrors), they moved the submit button away under the user's click.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { FieldError, Form, Input, Label, TextArea, TextField } from 'react-aria-components';
import { ApiError } from './api';

/** The server's problems with the form being shown, by input name. */
const FieldErrors = createContext<Record<string, string>>({});

export function Field(props: { name: string; label: string; type?: string; required?: boolean; defaultValue?: string; description?: string; multiline?: boolean; autoComplete?: string; placeholder?: string }) {
  const error = useContext(FieldErrors)[props.name];
  return (
    <TextField name={props.name} type={props.type ?? 'text'} isRequired={props.required} defaultValue={props.defaultValue} className="field" autoComplete={props.autoComplete} isInvalid={!!error}>
      <Label className={props.required ? "required" : undefined}>{props.label}</Label>
      {props.multiline ? <TextArea rows={4} placeholder={props.placeholder} /> : <Input placeholder={props.placeholder} />}
      {props.description ? <small className="hint">{props.description}</small> : null}
      <FieldError className="field-error">{error}</FieldError>
    </TextField>
  );
}

export function SelectField(props: { name: string; label: string; options: { value: string; label: string }[]; defaultValue?: string; required?: boolean }) {
  const id = `sel-${props.name}`;
  const error = useContext(FieldErrors)[props.name];
  return (
    <div className="field">
      <label htmlFor={id} className={props.required ? "required" : undefined}>{props.label}</label>
      <select id={id} name={props.name} defaultValue={props.defaultValue} required={props.required} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-err` : undefined}>
        {props.options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
      {error ? <span id={`${id}-err`} className="field-error">{error}</span> : null}
    </div>
  );
}

export function CheckField(props: { name: string; label: string; defaultChecked?: boolean }) {
  return (
    <div className="field check">
      <input type="checkbox" id={`chk-${props.name}`} name={props.name} defaultChecked={props.defaultChecked} />
      <label htmlFor={`chk-${props.name}`}>{props.label}</label>
    </div>
  );
}

/** A native button: focus, keyboard and disabled state come from the browser; nothing to emulate. */
export function Btn(props: { children: ReactNode; onPress?: () => void; type?: 'button' | 'submit'; variant?: 'primary' | 'danger' | 'plain'; isDisabled?: boolean; 'aria-keyshortcuts'?: string }) {
  return (
    <button type={props.type ?? 'button'} onClick={props.onPress} disabled={props.isDisabled} className={`btn ${props.variant ?? 'plain'}`} aria-keyshortcuts={props['aria-keyshortcuts']}>
      {props.children}
    </button>
  );
}

/** A form posting to the API: fields by name, the server's per-field problems next to each field, its sentence above. */
export function ApiForm(props: { label: string; submit: (data: FormData) => Promise<string | void>; children: ReactNode; submitLabel?: string; resetOnSuccess?: boolean }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  // A second submit while the first is in flight is ignored (the button stays where it is).
  const busy = useRef(false);
  const onSubmit = useCallback(async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (busy.current) return;
    const form = e.currentTarget;
    busy.current = true;
    try {
      const done = await props.submit(new FormData(form));
      setErrors({});
      setMessage({ kind: 'ok', text: done ?? 'Saved.' });
      if (props.resetOnSuccess !== false) form.reset();
    } catch (err) {
      if (err instanceof ApiError) {
        setErrors(Object.fromEntries(err.issues.map((i) => [i.field.replace(/^(body|query)\./, ''), i.problem])));
        setMessage({ kind: 'error', text: err.message });
      } else setMessage({ kind: 'error', text: (err as Error).message });
    } finally {
      busy.current = false;
    }
  }, [props]);
  return (
    <Form onSubmit={onSubmit} validationBehavior="aria" aria-label={props.label} className="api-form">
      <FieldErrors.Provider value={errors}>{props.children}</FieldErrors.Provider>
      <div role="status" aria-live="polite" className={message ? `notice ${message.kind}` : 'notice'}>{message?.text ?? ''}</div>
      <Btn type="submit" variant="primary">{props.submitLabel ?? 'Save'}</Btn>
    </Form>
  );
}

/** A data table with a caption (its accessible name); cells are text or nodes. */
export function DataTable<T>(props: { caption: string; rows: readonly T[]; columns: { header: string; cell: (row: T) => ReactNode }[]; rowKey: (row: T) => string; empty?: string }) {
  return (
    <div className="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>{props.columns.map((c) => <th key={c.header} scope="col">{c.header}</th>)}</tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr><td colSpan={props.columns.length}>{props.empty ?? 'Nothing yet.'}</td></tr>
          ) : (
            props.rows.map((r) => <tr key={props.rowKey(r)}>{props.columns.map((c) => <td key={c.header}>{c.cell(r)}</td>)}</tr>)
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Section(props: { title: string; children: ReactNode; id?: string }) {
  const id = props.id ?? `sec-${props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section aria-labelledby={id} className="card">
      <h2 id={id}>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** FormData → a JSON body: empty strings left out, "on" checkboxes true, numbers where asked. */
export function bodyOf(data: FormData, opts: { numbers?: string[]; booleans?: string[]; lists?: string[] } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of data.entries()) {
    if (typeof v !== 'string' || v === '') continue;
    if (opts.numbers?.includes(k)) out[k] = Number(v);
    else if (opts.lists?.includes(k)) out[k] = v.split(',').map((x) => x.trim()).filter(Boolean);
    else out[k] = v;
  }
  for (const b of opts.booleans ?? []) out[b] = data.get(b) === 'on';
  return out;
}

/** Loads when deps change (and again on reload()); errors become a message. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data: T | undefined; error: string | null; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then((d) => { if (live) { setData(d); setError(null); } }, (e: Error) => live && setError(e.message));
    return () => { live = false; };
  }, [n, ...deps]);
  return { data, error, reload: () => setN((x) => x + 1) };
}
