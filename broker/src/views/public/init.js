// Progressive enhancement only: every page works without it. Loaded as a module with the
// page's CSP nonce; kept in a file because the pages allow no inline script of their own.
import { initAll } from './govuk-frontend.min.js';

initAll();
