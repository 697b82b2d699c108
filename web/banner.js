// How the page's connection is doing, in words a player understands: a small status in the
// top bar, and a banner across the page while the connection is lost. The transport's own
// details (streaming or polling, why) stay in data attributes for styling and tests.

import { fill, h } from './dom.js';
import { t } from './i18n.js';

/** `state`: connecting | live | reconnecting | offline, or `stopped` once the page gave up. */
export function showConnection({ state, transport = null, reason = null, shared = false }) {
  const el = document.getElementById('conn');
  if (el) {
    el.hidden = false;
    el.dataset.state = state;
    el.dataset.transport = transport || '';
    el.dataset.reason = reason || '';
    el.dataset.shared = shared ? 'true' : 'false';
    fill(el, h('span', { class: 'dot', 'aria-hidden': 'true' }), t(`conn.${state}`));
  }
  const banner = document.getElementById('conn-banner');
  if (!banner) return;
  banner.dataset.state = state;
  // The banner stays in the page (empty when all is well) so screen readers hear it appear.
  if (state === 'reconnecting' || state === 'offline') {
    const [title, more] = state === 'offline'
      ? ['banner.offline', 'banner.offline.more']
      : ['banner.reconnecting', 'banner.reconnecting.more'];
    if (banner.dataset.shown !== state) {
      banner.dataset.shown = state;
      fill(banner, h('span', { class: 'conn-banner-dot', 'aria-hidden': 'true' }),
        h('span', null, h('strong', null, t(title)), ' ', t(more)));
    }
  } else if (banner.dataset.shown) {
    delete banner.dataset.shown;
    banner.replaceChildren();
  }
}

/** The page stopped following the game (signed out, game gone, removed): no more retries. */
export function connectionStopped() {
  showConnection({ state: 'stopped' });
}
