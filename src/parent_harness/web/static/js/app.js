// Wires the dashboard: the socket feeds the store, the store signals the header
// and the page on view, the router picks the page. Nothing here renders data.

import { loadAccess } from './access.js';
import { getJSON, onRefused, setAccessToken } from './api.js';
import { loadCatalogue } from './catalogue.js';
import { parseHash, startRouter } from './router.js';
import { HubSocket } from './socket.js';
import { Store } from './store.js';
import { DashboardView } from './views/dashboard.js';
import { ErrorDetailsModal } from './views/error_modal.js';
import { EventBusView } from './views/events.js';
import {
  BudgetIndicator,
  InboxCount,
  markActiveNav,
  StaleMarker,
  WebSocketStatus,
} from './views/header.js';
import { InboxView } from './views/inbox.js';
import { LoginForm } from './views/login.js';
import { PlanGraphView } from './views/plan_graph.js';
import { SessionDetailView } from './views/session_detail.js';
import { SessionListView } from './views/sessions.js';
import { TaskDetailView } from './views/task_detail.js';
import { TaskListView } from './views/tasks.js';
import { TelegramView } from './views/telegram.js';

const RECENT_EVENTS = 50;
// Everything but heartbeats, which the dashboard's stream leaves out by default.
const RECENT_TYPES =
  'agent:status,task:*,session:started,session:updated,session:ended,session:iteration,test:*,budget:*,telegram:*,approval:*,event';
const RECENT_TEST_RUNS = 500;

const store = new Store();
const modal = new ErrorDetailsModal(document.getElementById('error-modal'));
const header = {
  ws: new WebSocketStatus(document.getElementById('ws-status')),
  budget: new BudgetIndicator(document.getElementById('budget')),
  stale: new StaleMarker(document.getElementById('stale-banner')),
  inbox: new InboxCount(document.getElementById('inbox-count')),
};
const context = { store, modal };
const views = {
  dashboard: new DashboardView(context),
  tasks: new TaskListView(context),
  task: new TaskDetailView(context),
  plans: new PlanGraphView(context),
  sessions: new SessionListView(context),
  session: new SessionDetailView(context),
  events: new EventBusView(context),
  telegram: new TelegramView(context),
  inbox: new InboxView(context),
};
const missed = new Set(); // views that were hidden while something changed
let current = null;

const main = document.getElementById('main');
for (const view of Object.values(views)) {
  view.el.hidden = true;
  main.append(view.el);
}

function viewFor(route) {
  if (route.page === 'tasks' && route.id) return views.task;
  if (route.page === 'sessions' && route.id) return views.session;
  return views[route.page];
}

function navigate(route) {
  const next = viewFor(route);
  if (current && current !== next) {
    current.el.hidden = true;
    current.hide?.();
  }
  current = next;
  next.el.hidden = false;
  markActiveNav(document.querySelector('[data-testid="nav"]'), route.page);
  next.show(route, missed.delete(next));
  modal.close();
}

let firstRender = true;
store.subscribe((changes) => {
  if (changes.reset || changes.budget) header.budget.setBudget(store.budget);
  if (changes.reset || changes.approvals.size) header.inbox.render(store.approvals.size);
  header.ws.setLastEvent(store.lastEventAt);
  header.ws.render();
  if (changes.reset) loadRecent();
  for (const view of Object.values(views)) if (view !== current) missed.add(view);
  if (current) current.update(changes);
  if (firstRender && store.loaded) {
    firstRender = false;
    document.documentElement.dataset.ready = 'true';
    performance.mark('harness:first-render');
    requestAnimationFrame(() => setTimeout(() => performance.mark('harness:first-paint')));
  }
});

/** After a snapshot: the recent events and test results the snapshot does not carry. */
async function loadRecent() {
  try {
    const [events, notable, tests] = await Promise.all([
      getJSON('/api/events', { order: 'desc', limit: RECENT_EVENTS }),
      getJSON('/api/events', { type: RECENT_TYPES, order: 'desc', limit: RECENT_EVENTS }),
      getJSON('/api/events', { type: 'test:*', order: 'desc', limit: RECENT_TEST_RUNS }),
    ]);
    store.backfillEvents(events.items.concat(notable.items));
    store.backfillTestRuns(tests.items.map((m) => m.payload.test_run));
  } catch (error) {
    console.warn('recent events unavailable:', error.message);
  }
}

const socket = new HubSocket({
  position: () => store.position(),
  onMessages: (messages) => store.ingest(messages),
  onReset: () => store.markReset(),
  onStatus: (status) => {
    header.ws.setStatus(status);
    header.stale.setStatus(status, status.lastFrameAt);
  },
});

/** The hub refused this tab's token (or it has none): ask for one. */
onRefused((token) => {
  setAccessToken(null);
  login.open({ refused: token !== null });
});

/** The event kinds (rooms and levels) before any event is shown; without them (the hub
 *  refused the token, or is down) the page starts on its fallback and loads them later. */
async function catalogueFirst() {
  try {
    await Promise.all([loadCatalogue(), loadAccess()]);
    return true;
  } catch (error) {
    console.warn('event catalogue unavailable:', error.message);
    return false;
  }
}
let catalogued = catalogueFirst();

/** A token from the form: everything the hub refused is asked for again. */
async function signIn(token) {
  setAccessToken(token);
  if (!(await catalogued)) catalogued = catalogueFirst();
  await Promise.all([catalogued, loadAccess()]); // a new token may act where the last did not
  for (const view of Object.values(views)) missed.add(view);
  navigate(parseHash(location.hash));
  socket.resume();
}

const login = new LoginForm(document.getElementById('login'), { onToken: signIn });

setInterval(() => {
  const now = Date.now();
  header.ws.render(now);
  header.budget.render(now);
  current?.tick?.(now);
}, 1000);

catalogued.then(() => {
  startRouter(navigate);
  socket.start();
});

// For the operator's console and the benchmarks: read-only by convention.
window.harness = { store, socket, views };
