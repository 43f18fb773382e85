/** What the waiting page shows; every value is escaped, the page loads nothing from outside. */
export interface RoomPageView {
  eventId: string;
  status: 'waiting' | 'admitted';
  position?: number;
  preQueue?: boolean;
  expectedWaitSeconds?: number | null;
  pass?: string;
  expiresAt?: string;
  refreshSeconds: number;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);

function waitText(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return 'unknown';
  if (seconds < 60) return 'under a minute';
  return `about ${Math.ceil(seconds / 60)} min`;
}

/**
 * The browser's waiting page: the place in line and the expected wait, refreshed by the
 * page itself (meta refresh, no script, no external assets), so it works behind any edge.
 * Only while waiting: a page holding a pass asks for nothing more (after a Redis restart
 * a poll from a released buyer would be let in, and counted, again: docs/waiting-room.md).
 */
export function roomPage(v: RoomPageView): string {
  const body =
    v.status === 'admitted'
      ? `<h1>It is your turn</h1>
<p>Buy with this pass before <time>${escapeHtml(v.expiresAt ?? '')}</time>:</p>
<pre id="pass">${escapeHtml(v.pass ?? '')}</pre>`
      : `<h1>You are in line</h1>
<p class="place">Your place in line: <strong id="position">${v.preQueue ? 'drawn at the opening' : String(v.position ?? '')}</strong></p>
<p>Expected wait: <strong id="wait">${escapeHtml(waitText(v.expectedWaitSeconds))}</strong></p>
<p class="note">Keep this page open: it checks every ${v.refreshSeconds} s, and a buyer who stops checking loses the place.</p>`;
  const refresh = v.status === 'waiting' ? `<meta http-equiv="refresh" content="${v.refreshSeconds}">` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${refresh}<title>Stampede waiting room</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
strong{font-size:1.4em}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem}.note{color:#666}</style>
</head><body data-event="${escapeHtml(v.eventId)}">
${body}
</body></html>`;
}
