// Form fields with their label, hint and error, wired for screen readers
// (aria-describedby, aria-invalid). The id of each input is fieldId(path),
// so the error summary can link to it.
import type { ReactNode } from 'react';
import { fieldId } from './errors';

type Base = { path: string; label: string; hint?: string | undefined; error?: string | undefined; required?: boolean };

function describedBy(id: string, hint?: string, error?: string): string | undefined {
  const ids = [hint ? id + '-hint' : '', error ? id + '-error' : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

function Wrapper({ id, label, hint, error, children }: { id: string; label: string; hint?: string | undefined; error?: string | undefined; children: ReactNode }) {
  return (
    <div className={'field' + (error ? ' field--error' : '')}>
      <label htmlFor={id} className="field__label">{label}</label>
      {hint && <p id={id + '-hint'} className="field__hint">{hint}</p>}
      {error && <p id={id + '-error'} className="field__error">{error}</p>}
      {children}
    </div>
  );
}

export function TextField(props: Base & { value: string; onChange: (v: string) => void; type?: string; multiline?: boolean; autoComplete?: string; inputMode?: 'numeric' | 'text'; large?: boolean }) {
  const id = fieldId(props.path);
  const common = {
    id,
    name: props.path,
    value: props.value,
    required: props.required,
    'aria-invalid': props.error ? true : undefined,
    'aria-describedby': describedBy(id, props.hint, props.error),
  };
  return (
    <Wrapper id={id} label={props.label} hint={props.hint} error={props.error}>
      {props.multiline ? (
        <textarea {...common} rows={5} onChange={(e) => props.onChange(e.target.value)} />
      ) : (
        <input {...common} className={props.large ? 'input--large' : undefined} type={props.type ?? 'text'} autoComplete={props.autoComplete ?? 'off'}
          inputMode={props.inputMode} onChange={(e) => props.onChange(e.target.value)} />
      )}
    </Wrapper>
  );
}

export type Option = { value: string; label: string };

export function SelectField(props: Base & { value: string; onChange: (v: string) => void; options: Option[]; placeholder: string }) {
  const id = fieldId(props.path);
  return (
    <Wrapper id={id} label={props.label} hint={props.hint} error={props.error}>
      <select id={id} name={props.path} value={props.value} required={props.required}
        aria-invalid={props.error ? true : undefined} aria-describedby={describedBy(id, props.hint, props.error)}
        onChange={(e) => props.onChange(e.target.value)}>
        <option value="">{props.placeholder}</option>
        {props.options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    </Wrapper>
  );
}

/** Choices is a fieldset of radios (one value) or checkboxes (many). */
export function Choices(props: Base & { options: Option[]; multiple?: boolean; value: string[]; onChange: (v: string[]) => void }) {
  const id = fieldId(props.path);
  return (
    <fieldset className={'field' + (props.error ? ' field--error' : '')} id={id} tabIndex={-1}
      aria-describedby={describedBy(id, props.hint, props.error)}>
      <legend className="field__label">{props.label}</legend>
      {props.hint && <p id={id + '-hint'} className="field__hint">{props.hint}</p>}
      {props.error && <p id={id + '-error'} className="field__error">{props.error}</p>}
      <div className="choices">
        {props.options.map((o) => {
          const oid = `${id}-${o.value}`;
          const checked = props.value.includes(o.value);
          return (
            <div className="choice" key={o.value}>
              <input id={oid} type={props.multiple ? 'checkbox' : 'radio'} name={props.path} value={o.value} checked={checked}
                onChange={() => props.onChange(props.multiple ? (checked ? props.value.filter((v) => v !== o.value) : [...props.value, o.value]) : [o.value])} />
              <label htmlFor={oid}>{o.label}</label>
            </div>
          );
        })}
      </div>
    </fieldset>
  );
}
