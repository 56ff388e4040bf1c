// The console's message catalogs: Spanish first (the default), English.
// Components never hold text: they call t() with a key of these catalogs.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import es from './es.json';
import en from './en.json';

export const languages = ['es', 'en'] as const;
export type Language = (typeof languages)[number];

const stored = typeof localStorage !== 'undefined' ? localStorage.getItem('amparo.lang') : null;

void i18n.use(initReactI18next).init({
  resources: { es: { translation: es }, en: { translation: en } },
  lng: stored === 'en' ? 'en' : 'es',
  fallbackLng: 'es',
  interpolation: { escapeValue: false },
  returnNull: false,
});

// The page says its language from the first paint, not only after a switch.
if (typeof document !== 'undefined') document.documentElement.lang = stored === 'en' ? 'en' : 'es';

/** setLanguage switches the console and remembers the choice (a preference, not personal data). */
export function setLanguage(lng: Language): void {
  localStorage.setItem('amparo.lang', lng);
  void i18n.changeLanguage(lng);
  document.documentElement.lang = lng;
}

export function currentLanguage(): Language {
  return i18n.language === 'en' ? 'en' : 'es';
}

export default i18n;
