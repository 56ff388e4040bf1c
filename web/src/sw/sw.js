// Amparo's service worker: it caches the app shell (the built files, listed
// at build time) so the console opens without a connection. It never caches
// an API response, a download or anything about a case: /graphql, /dev and
// /console always go to the network.
/* eslint-disable */
const SHELL = __SHELL__;
const VERSION = __VERSION__;
const CACHE = 'amparo-shell-' + VERSION;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('amparo-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/graphql') || url.pathname.startsWith('/dev/') || url.pathname.startsWith('/console/')) return;
  if (req.mode === 'navigate') {
    // Every client route is the same index.html: network first (a new
    // release shows at once), the cached shell when offline.
    event.respondWith(fetch(req).catch(() => caches.match('/', { cacheName: CACHE })));
    return;
  }
  event.respondWith(caches.match(req, { cacheName: CACHE }).then((hit) => hit || fetch(req)));
});
