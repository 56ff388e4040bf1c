// Asks for the outbox passphrase: chosen the first time a complaint is kept
// on the device, typed again to send it after the tab was closed.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { TextField } from '../ui/Field';
import { unlock } from './queue';

export function Passphrase({ ownerId, creating, onUnlocked }: { ownerId: string; creating: boolean; onUnlocked: () => void }) {
  const { t } = useTranslation();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (value.length < 8) { setError(t('outbox.passphraseShort')); return; }
    setBusy(true);
    const ok = await unlock(ownerId, value);
    setBusy(false);
    if (ok) { setValue(''); setError(undefined); onUnlocked(); } else setError(t('outbox.passphraseWrong'));
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate className="passphrase">
      <TextField path={creating ? 'outbox.newPassphrase' : 'outbox.passphrase'} type="password" autoComplete={creating ? 'new-password' : 'current-password'}
        label={creating ? t('outbox.choosePassphrase') : t('outbox.enterPassphrase')}
        hint={creating ? t('outbox.choosePassphraseHint') : t('outbox.enterPassphraseHint')}
        value={value} onChange={setValue} error={error} />
      <button type="submit" className="button" disabled={busy}>{busy ? t('outbox.deriving') : creating ? t('outbox.saveEncrypted') : t('outbox.unlock')}</button>
    </form>
  );
}
