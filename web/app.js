// quizcast web client: picks the view for the URL.
//   /              start: join a game, or host one
//   /join          the join form
//   /join/CODE     player (the join form with the code filled in, then the game)
//   /host/CODE     host controls
//   /screen/CODE   big screen (projector)
// `?transport=poll` makes the live views long-poll instead of streaming; `?lang=es` picks
// the language (else the browser's).

import { normaliseCode } from './api.js';
import { homeView, joinView } from './home.js';
import { hostView } from './host.js';
import { t, translatePage } from './i18n.js';
import { playerView } from './player.js';
import { screenView } from './screen.js';

function route() {
  const main = document.getElementById('main');
  if (/^\/join\/?$/.test(location.pathname)) return joinView(main);
  const m = location.pathname.match(/^\/(join|host|screen)\/([^/]+)\/?$/);
  if (!m) return homeView(main);
  const code = normaliseCode(decodeURIComponent(m[2]));
  document.body.dataset.view = m[1];
  if (m[1] === 'join') return playerView(main, code);
  if (m[1] === 'host') return hostView(main, code);
  return screenView(main, code);
}

try {
  translatePage();
  route();
} catch (e) {
  console.error(e);
  const main = document.getElementById('main');
  main.textContent = t('page.broken');
}
