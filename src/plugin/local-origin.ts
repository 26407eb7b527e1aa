// Who may use the local proxy: it holds the user's credentials, so any web page the user's browser visits could
// otherwise make requests with them. kubectl proxy accepts only Hosts naming loopback (--accept-hosts), which stops
// DNS rebinding (a hostile name resolving to 127.0.0.1 still sends its own name as Host); this proxy also refuses a
// request whose Origin is another site, which stops cross-site requests a page sends to 127.0.0.1 itself — form
// posts, fetches and WebSockets, the last of which no same-origin policy protects.
import type { IncomingHttpHeaders } from 'node:http';

const loopbackNames = ['127.0.0.1', 'localhost'];

/** Why a request is refused, or undefined when it comes from the proxy's own origin (or from no browser page). */
export function foreignRequest(headers: IncomingHttpHeaders, port: number): string | undefined {
  const ownHosts = loopbackNames.map((name) => `${name}:${port}`);
  const host = (headers.host ?? '').toLowerCase();
  if (!ownHosts.includes(host)) return `host ${JSON.stringify(headers.host ?? '')} is not this proxy's (${ownHosts.join(' or ')})`;
  const origin = headers.origin?.toLowerCase();
  // Browsers send Origin with every request that could change something (all but GET and HEAD navigations), and
  // with every WebSocket; a page of this origin may go on, and a program that is not a browser sends none.
  if (origin !== undefined && !ownHosts.some((own) => origin === `http://${own}`)) return `origin ${JSON.stringify(headers.origin)} is not this proxy's`;
  return undefined;
}
