import { useStore } from '../store/index';
import type { SideTab } from '../store/ui';

const TABS: { id: SideTab; label: string }[] = [
  { id: 'model', label: 'Forward model' },
  { id: 'prior', label: 'Prior' },
  { id: 'run', label: 'Run' },
];

export function SidePanel() {
  const tab = useStore((s) => s.sideTab);
  const setTab = useStore((s) => s.setSideTab);
  return (
    <aside className="sidepanel" aria-label="Model and run settings">
      <nav className="tabs" role="tablist">
        {TABS.map((t) => (
          <button key={t.id} role="tab" aria-selected={tab === t.id} className={tab === t.id ? 'active' : ''} onClick={() => setTab(t.id)}>
            {t.label}
          </button>
        ))}
      </nav>
      <div className="tabbody" role="tabpanel">
        {tab === 'model' && <p className="muted">Describe the instrument: PSF, mask, lens or uv sampling.</p>}
        {tab === 'prior' && <p className="muted">Choose the learned prior the posterior is drawn with.</p>}
        {tab === 'run' && <p className="muted">Sampler, steps, number of samples and seed.</p>}
      </div>
    </aside>
  );
}
