import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { ApolloProvider } from '@apollo/client/react';
import './i18n';
import './ui/styles.css';
import { App } from './App';
import { newClient } from './api/client';
import { SessionProvider } from './auth/SessionProvider';
import { oidcSilentCallback } from './auth/oidc';
import { currentLanguage } from './i18n';

document.documentElement.lang = currentLanguage();

// The service worker caches the app shell so the console opens offline.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  void navigator.serviceWorker.register('/sw.js');
}

if (location.pathname === '/ingresar/renovar') {
  void oidcSilentCallback();
} else {
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <ApolloProvider client={newClient()}>
        <BrowserRouter>
          <SessionProvider>
            <App />
          </SessionProvider>
        </BrowserRouter>
      </ApolloProvider>
    </StrictMode>,
  );
}
