// Evidence upload: choose a file, drop it, or take a photo with the phone's
// camera; a progress bar while it streams; retry on failure.
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { authHeaders } from '../api/client';
import { Notice } from '../ui/Page';
import { TextField } from '../ui/Field';
import { formatBytes } from '../ui/format';
import { uploadEvidence } from './upload';

export function EvidenceUpload({ caseId, onUploaded }: { caseId: string; onUploaded: () => void }) {
  const { t } = useTranslation();
  const [file, setFile] = useState<File | null>(null);
  const [description, setDescription] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const choose = (f: File | undefined | null) => { if (f) { setFile(f); setError(null); setDone(null); } };

  const send = async () => {
    if (!file) { setError(t('evidence.chooseFirst')); return; }
    setError(null);
    setProgress(0);
    const { done: result } = uploadEvidence({ caseId, file, description }, authHeaders(), setProgress);
    const r = await result;
    setProgress(null);
    if (r.ok) {
      setDone(t('evidence.uploaded', { name: r.evidence.filename }));
      setFile(null);
      setDescription('');
      onUploaded();
    } else {
      setError(r.problems.network ? t('evidence.networkRetry') : [...Object.values(r.problems.fields), ...r.problems.general].join(' '));
    }
  };

  return (
    <div className="upload">
      <div className={'dropzone' + (over ? ' dropzone--over' : '')}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => { e.preventDefault(); setOver(false); choose(e.dataTransfer.files[0]); }}>
        <p>{t('evidence.drop')}</p>
        <div className="field">
          <label htmlFor="evidence-file" className="field__label">{t('evidence.file')}</label>
          <input id="evidence-file" ref={input} type="file" onChange={(e) => choose(e.target.files?.[0])} />
        </div>
        <div className="field">
          <label htmlFor="evidence-camera" className="field__label">{t('evidence.camera')}</label>
          <input id="evidence-camera" type="file" accept="image/*" capture="environment" onChange={(e) => choose(e.target.files?.[0])} />
        </div>
        {file && <p>{t('evidence.chosen', { name: file.name, size: formatBytes(file.size) })}</p>}
      </div>
      <TextField path="evidence.description" label={t('evidence.description')} value={description} onChange={setDescription} />
      {progress !== null && (
        <div className="progress">
          <label htmlFor="evidence-progress">{t('evidence.progress', { percent: Math.round(progress * 100) })}</label>
          <progress id="evidence-progress" max={1} value={progress} />
        </div>
      )}
      {error && <Notice kind="error">{error}</Notice>}
      {done && <Notice kind="success">{done}</Notice>}
      <button type="button" className="button" disabled={progress !== null} onClick={() => void send()}>
        {error && file ? t('evidence.retry') : t('evidence.upload')}
      </button>
    </div>
  );
}
