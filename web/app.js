// quizcast web client: picks the view for the URL.
//   /              start: join a game, or host one
//   /join/CODE     player
//   /host/CODE     host controls
//   /screen/CODE   big screen (projector)
// `?transport=poll` makes the live views long-poll instead of streaming.

import { normaliseCode } from './api.js';
import { homeView } from './home.js';
import { playerView } from './player.js';
import { hostView } from './host.js';
import { screenView } from './screen.js';

function route() {
  const main = document.getElementById('main');
  const m = location.pathname.match(/^\/(join|host|screen)\/([^/]+)\/?$/);
  if (!m) return homeView(main);
  const code = normaliseCode(decodeURIComponent(m[2]));
  document.body.dataset.view = m[1];
  if (m[1] === 'join') return playerView(main, code);
  if (m[1] === 'host') return hostView(main, code);
  return screenView(main, code);
}

try {
  route();
} catch (e) {
  console.error(e);
  const main = document.getElementById('main');
  main.textContent = 'Something went wrong while starting the page. Reload to try again.';
}
