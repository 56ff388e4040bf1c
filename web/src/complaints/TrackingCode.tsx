// The tracking code, large, with a QR code (drawn here, by the qrcode
// package: no request leaves the device) that opens /seguimiento with it.
import { useEffect, useState } from 'react';
import QRCode from 'qrcode';
import { useTranslation } from 'react-i18next';

export function TrackingCode({ code }: { code: string }) {
  const { t } = useTranslation();
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    const url = `${location.origin}/seguimiento?codigo=${encodeURIComponent(code)}`;
    QRCode.toDataURL(url, { errorCorrectionLevel: 'M', margin: 2, width: 240 }).then(setSrc, () => setSrc(null));
  }, [code]);
  return (
    <div className="tracking-code">
      <p>{t('intake.codeIntro')}</p>
      <p className="tracking-code__code" data-testid="tracking-code" aria-label={t('intake.codeSpelled', { code: code.split('').join(' ') })}>{code}</p>
      {src && <img className="tracking-code__qr" src={src} width={240} height={240} alt={t('intake.qrAlt')} />}
      <p>{t('intake.codeOnce')}</p>
      <button type="button" className="button button--secondary no-print" onClick={() => window.print()}>{t('intake.print')}</button>
    </div>
  );
}
