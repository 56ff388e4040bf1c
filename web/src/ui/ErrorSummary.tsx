// The GOV.UK error summary: at the top of the form, focused when it
// appears, one link per wrong field (to the field itself), then the
// messages that belong to no field.
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { fieldId, type FieldErrors } from './errors';

export function ErrorSummary({ fields, general }: { fields: FieldErrors; general: string[] }) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const entries = Object.entries(fields);
  const shown = entries.length > 0 || general.length > 0;
  useEffect(() => {
    if (shown) ref.current?.focus();
  }, [shown, fields, general]);
  if (!shown) return null;
  return (
    <div className="error-summary" role="alert" tabIndex={-1} ref={ref} aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">{t('errors.summaryTitle')}</h2>
      <ul>
        {entries.map(([path, msg]) => (
          <li key={path}>
            <a href={'#' + fieldId(path)} onClick={(e) => { e.preventDefault(); document.getElementById(fieldId(path))?.focus(); }}>{msg}</a>
          </li>
        ))}
        {general.map((m, i) => <li key={'g' + i}>{m}</li>)}
      </ul>
    </div>
  );
}
