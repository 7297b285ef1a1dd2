// Shell: login gate, role-based navigation, routes.
import type { Role } from '@wattfleet/protocol';
import { useEffect, useState } from 'react';
import { logout } from './api/auth.ts';
import { EnphaseCallbackPage } from './components/EnphaseAuthorise.tsx';
import { AccountPage } from './pages/Account.tsx';
import { AdminPage } from './pages/Admin.tsx';
import { AlertsPage } from './pages/Alerts.tsx';
import { AutomationPage } from './pages/automation/AutomationPage.tsx';
import { RulePage } from './pages/automation/RulePage.tsx';
import { ScenePage } from './pages/automation/ScenePage.tsx';
import { SchedulePage } from './pages/automation/SchedulePage.tsx';
import { CommandsPage } from './pages/Commands.tsx';
import { ConfigEditorPage } from './pages/ConfigEditor.tsx';
import { EnrollmentPage } from './pages/Enrollment.tsx';
import { EquipmentPage } from './pages/Equipment.tsx';
import { FleetPage } from './pages/Fleet.tsx';
import { GrantsPage } from './pages/Grants.tsx';
import { LoginPage } from './pages/Login.tsx';
import { OwnerPage } from './pages/Owner.tsx';
import { RolloutPage } from './pages/Rollout.tsx';
import { SiteDetailPage } from './pages/SiteDetail.tsx';
import { AuditPage, UsersPage } from './pages/Users.tsx';
import { VendorsPage } from './pages/Vendors.tsx';
import { type ConnectionState, realtime } from './realtime/client.ts';
import { Link, match, navigate, usePath } from './router.tsx';
import { useSession } from './session.tsx';

interface NavItem {
  href: string;
  label: string;
  roles: readonly Role[];
}

const NAV: NavItem[] = [
  { href: '/home', label: 'My home', roles: ['owner', 'viewer', 'admin', 'org_admin', 'installer'] },
  { href: '/fleet', label: 'Fleet', roles: ['admin', 'org_admin', 'installer'] },
  { href: '/alerts', label: 'Alerts', roles: ['admin', 'org_admin', 'installer'] },
  { href: '/commands', label: 'Commands', roles: ['admin', 'installer'] },
  { href: '/vendors', label: 'Vendor systems', roles: ['admin', 'org_admin', 'installer'] },
  { href: '/admin', label: 'Admin', roles: ['admin'] },
  { href: '/users', label: 'Users', roles: ['admin', 'org_admin'] },
  { href: '/grants', label: 'Site access', roles: ['admin'] },
  { href: '/enrollment', label: 'Enrollment', roles: ['admin', 'installer'] },
  { href: '/rollout', label: 'Rollout', roles: ['admin'] },
  { href: '/audit', label: 'Audit', roles: ['admin'] },
  { href: '/account', label: 'Account', roles: ['owner', 'viewer', 'admin', 'org_admin', 'installer'] },
];

/** Where each role lands after signing in. */
function homeOf(role: Role): string {
  return role === 'admin' || role === 'org_admin' || role === 'installer' ? '/fleet' : '/home';
}

function useConnection(): ConnectionState {
  const [state, setState] = useState<ConnectionState>(realtime.state);
  useEffect(() => realtime.onState(setState), []);
  return state;
}

function Page({ path, role }: { path: string; role: Role }) {
  const allowed = (href: string) => NAV.find((n) => n.href === href)?.roles.includes(role) ?? false;
  if (path === '/home') return <OwnerPage />;
  const home = match('/home/:siteId', path);
  if (home) return <OwnerPage siteId={home.siteId!} />;
  if (path === '/fleet' && allowed('/fleet')) return <FleetPage />;
  if (path === '/alerts' && allowed('/alerts')) return <AlertsPage />;
  if (path === '/commands' && allowed('/commands')) return <CommandsPage />;
  if (path === '/admin' && allowed('/admin')) return <AdminPage />;
  if (path === '/users' && allowed('/users')) return <UsersPage />;
  if (path === '/grants' && allowed('/grants')) return <GrantsPage />;
  if (path === '/enrollment' && allowed('/enrollment')) return <EnrollmentPage />;
  if (path === '/account') return <AccountPage />;
  if (path === '/vendors' && allowed('/vendors')) return <VendorsPage />;
  if (path === '/vendors/enphase/callback') return <EnphaseCallbackPage />;
  if (path === '/rollout' && allowed('/rollout')) return <RolloutPage />;
  if (path === '/audit' && allowed('/audit')) return <AuditPage />;
  const config = match('/nodes/:nodeId/config', path);
  if (config && allowed('/commands')) return <ConfigEditorPage nodeId={config.nodeId!} />;
  // Automation of a site: every role that sees the site; the hub decides who may change it.
  const automation = match('/sites/:siteId/automation', path);
  if (automation) return <AutomationPage siteId={automation.siteId!} />;
  // Equipment of a site: every role that sees it; only installers and admins get controls.
  const equipment = match('/sites/:siteId/equipment', path);
  if (equipment) return <EquipmentPage siteId={equipment.siteId!} />;
  const schedule = match('/sites/:siteId/automation/schedules/:id', path);
  if (schedule) return <SchedulePage siteId={schedule.siteId!} scheduleId={schedule.id!} />;
  const scene = match('/sites/:siteId/automation/scenes/:id', path);
  if (scene) return <ScenePage siteId={scene.siteId!} sceneId={scene.id!} />;
  const rule = match('/sites/:siteId/automation/rules/:id', path);
  if (rule) return <RulePage siteId={rule.siteId!} ruleId={rule.id!} />;
  const site = match('/sites/:siteId', path);
  if (site) {
    return role === 'owner' || role === 'viewer' ? (
      <OwnerPage siteId={site.siteId!} />
    ) : (
      <SiteDetailPage siteId={site.siteId!} />
    );
  }
  return (
    <div>
      <h1>Not found</h1>
      <p>
        Nothing here. <Link href={homeOf(role)}>Go to the start page</Link>.
      </p>
    </div>
  );
}

export function App() {
  const { user, setUser } = useSession();
  const path = usePath();
  const connection = useConnection();
  const [menuOpen, setMenuOpen] = useState(false);

  // A temporary password opens nothing but the password change (the hub refuses the rest, the
  // socket included): such a user is sent to the form, and live updates wait until it is done.
  const mustChange = user?.mustChangePassword === true;
  useEffect(() => {
    if (user && !mustChange) realtime.start();
  }, [user, mustChange]);
  useEffect(() => {
    if (mustChange && path !== '/account') navigate('/account', true);
    else if (user && (path === '/' || path === '/login')) navigate(homeOf(user.role), true);
  }, [user, path, mustChange]);
  // Each navigation moves focus to the main heading so keyboard and screen-reader users land on it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation on purpose
  useEffect(() => {
    setMenuOpen(false);
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [path]);

  if (!user) return <LoginPage />;
  const items = NAV.filter((n) => n.roles.includes(user.role));
  return (
    <>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="topbar">
        <Link href={homeOf(user.role)} className="brand">
          Wattfleet
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? 'open' : ''}>
          {items.map((n) => (
            <Link key={n.href} href={n.href} aria-current={path.startsWith(n.href) ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span
          className={`conn conn-${connection}`}
          title={`Live updates: ${connection}`}
          data-testid="connection"
        >
          {connection === 'open' ? 'live' : connection}
        </span>
        <span className="who" data-testid="who">
          {user.email} · {user.role}
        </span>
        <button
          type="button"
          onClick={() => {
            void logout();
            setUser(null);
            navigate('/', true);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {user.mustChangePassword && path !== '/account' && (
          <p className="card error" role="alert">
            Your password was set by an administrator. <Link href="/account">Choose your own password</Link>.
          </p>
        )}
        <Page path={path} role={user.role} />
      </main>
    </>
  );
}
