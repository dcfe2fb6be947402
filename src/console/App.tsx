/**
 * The console shell: checks for a session (GET /console/session), shows sign-in without one, and otherwise the
 * layout (organization, role, navigation, sign-out) around the screen the URL's hash names.
 */
import { useEffect, useState } from 'preact/hooks';
import { currentSession, setCsrfToken, setUnauthorizedHandler, signOut } from './api';
import { ErrorNote, Loading } from './components/common';
import { ROLE_LABEL } from './format';
import { href, navigate, useRoute, type Route } from './router';
import { AuditScreen } from './screens/Audit';
import { EntitiesScreen, EntityDetailScreen } from './screens/Entities';
import { OverviewScreen } from './screens/Overview';
import { RoutingScreen } from './screens/Routing';
import { SettingsScreen } from './screens/Settings';
import { SignInScreen } from './screens/SignIn';
import { SessionContext } from './session';
import type { Session } from './types';

type NavKey = 'overview' | 'routing' | 'entities' | 'audit' | 'settings';

const NAV: { key: NavKey; label: string }[] = [
  { key: 'overview', label: 'Overview' },
  { key: 'routing', label: 'Routing' },
  { key: 'entities', label: 'Domains & mailboxes' },
  { key: 'audit', label: 'Audit log' },
  { key: 'settings', label: 'Settings' },
];

function screenOf(route: Route): NavKey {
  const first = route.segments[0];
  return NAV.some((n) => n.key === first) ? (first as NavKey) : 'overview';
}

function Screen({ route }: { route: Route }) {
  const key = screenOf(route);
  switch (key) {
    case 'routing':
      return <RoutingScreen />;
    case 'entities': {
      const [, kind, id] = route.segments;
      if ((kind === 'mailbox' || kind === 'domain') && id !== undefined) return <EntityDetailScreen key={`${kind}/${id}`} kind={kind} id={id} />;
      const listKind = route.params.get('kind') === 'mailboxes' ? 'mailbox' : 'domain';
      return <EntitiesScreen key={listKind} kind={listKind} />;
    }
    case 'audit':
      return <AuditScreen key={route.params.toString()} params={route.params} />;
    case 'settings':
      return <SettingsScreen />;
    default:
      return <OverviewScreen />;
  }
}

const TITLES: Record<NavKey, string> = {
  overview: 'Overview',
  routing: 'Routing',
  entities: 'Domains & mailboxes',
  audit: 'Audit log',
  settings: 'Settings',
};

function Layout({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const current = screenOf(route);
  const [signingOut, setSigningOut] = useState(false);
  const [problem, setProblem] = useState<unknown>(undefined);

  useEffect(() => {
    document.title = `${TITLES[current]} · Drason console`;
  }, [current]);

  const doSignOut = async (): Promise<void> => {
    setSigningOut(true);
    try {
      await signOut();
      onSignOut();
    } catch (e) {
      setProblem(e);
      setSigningOut(false);
    }
  };

  return (
    <SessionContext.Provider value={session}>
      <a class="skip-link" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById('main')?.focus();
      }}>
        Skip to content
      </a>
      <header class="app-header">
        <div class="container">
          <div class="app-bar">
            <p class="brand">
              <strong>Drason</strong> <span class="brand-sub">console</span>
            </p>
            <div class="who" data-testid="who">
              <span data-testid="org-name">{session.organizationName}</span>
              <span class="role-badge" data-testid="role">
                {ROLE_LABEL[session.role] ?? session.role}
              </span>
              <span class="key-name">key “{session.keyName}”</span>
              <button type="button" class="outline secondary signout" data-testid="signout" onClick={doSignOut} aria-busy={signingOut ? 'true' : undefined} disabled={signingOut}>
                Sign out
              </button>
            </div>
          </div>
          <nav aria-label="Main">
            <ul class="main-nav">
              {NAV.map((n) => (
                <li key={n.key}>
                  <a href={href(n.key)} data-testid={`nav-${n.key}`} aria-current={n.key === current ? 'page' : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        </div>
      </header>
      <main id="main" class="container" tabIndex={-1}>
        {problem === undefined ? null : <ErrorNote error={problem} />}
        <Screen route={route} />
      </main>
      <footer class="container app-footer">
        <small>
          Drason reads and changes everything here through its public JSON API: <a href="/v1/openapi.json">OpenAPI document</a>.
        </small>
      </footer>
    </SessionContext.Provider>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [loadError, setLoadError] = useState<unknown>(undefined);
  const [notice, setNotice] = useState<string | null>(null);

  const adopt = (s: Session | null): void => {
    setCsrfToken(s?.csrfToken ?? null);
    setSession(s);
  };

  const check = (): void => {
    setLoadError(undefined);
    currentSession().then(adopt, (e: unknown) => setLoadError(e));
  };

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setNotice('Your session has ended. Sign in again to continue.');
      adopt(null);
    });
    check();
    return () => setUnauthorizedHandler(null);
  }, []);

  if (session === undefined) {
    return (
      <main id="main" class="container narrow">
        {loadError === undefined ? <Loading what="the console" /> : <ErrorNote error={loadError} onRetry={check} />}
      </main>
    );
  }
  if (session === null) {
    return (
      <SignInScreen
        notice={notice}
        onSignedIn={(s) => {
          setNotice(null);
          adopt(s);
          if (window.location.hash === '' || window.location.hash === '#' || window.location.hash === '#/') navigate(href('overview'));
        }}
      />
    );
  }
  return (
    <Layout
      session={session}
      onSignOut={() => {
        setNotice('You are signed out.');
        adopt(null);
      }}
    />
  );
}

