// A screen's frame: its title as the page's h1 and the document title, so a
// screen reader announces where the person is after every navigation.
import { useEffect, useRef, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

export function Page({ title, children, wide }: { title: string; children: ReactNode; wide?: boolean }) {
  const { t } = useTranslation();
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · ${t('app.name')}`;
    h1.current?.focus();
  }, [title, t]);
  return (
    <div className={wide ? 'page page--wide' : 'page'}>
      <h1 tabIndex={-1} ref={h1}>{title}</h1>
      {children}
    </div>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return <p role="status">{t('common.loading')}</p>;
}

export function Notice({ kind, children }: { kind: 'info' | 'success' | 'warning' | 'error'; children: ReactNode }) {
  return <div className={'notice notice--' + kind} role={kind === 'error' ? 'alert' : 'status'}>{children}</div>;
}
