import { useEffect } from 'react';
import { useStore } from '../store/index';
import type { SideTab } from '../store/ui';
import { ModelEditor } from '../model/ModelEditor';
import { PriorPicker } from '../run/PriorPicker';
import { RunPanel } from '../run/RunPanel';
import { TrainPanel } from '../train/TrainPanel';
import { installJobEvents } from '../run/actions';
import { openProject, saveProject } from '../export/actions';
import { FileButton } from '../model/fields';
import { Steps } from '../run/Steps';
import { installViewerLink } from '../model/viewer-link';
import '../run/panels.css';

const TABS: { id: SideTab; label: string }[] = [
  { id: 'model', label: 'Forward model' },
  { id: 'prior', label: 'Prior' },
  { id: 'run', label: 'Run' },
];

function ProjectBar() {
  const running = useStore((s) => s.run.state === 'running' || s.run.state === 'starting');
  return (
    <div className="projectbar" role="group" aria-label="Project">
      <span className="muted">Project</span>
      <FileButton
        label="Open…"
        accept=".json,application/json"
        ariaLabel="Open project file"
        testId="project-open"
        disabled={running}
        onFiles={async (fs) => {
          const f = fs[0]!;
          await openProject(f.name, await f.text());
        }}
      />
      <button type="button" onClick={saveProject} data-testid="project-save">
        Save…
      </button>
    </div>
  );
}

export function SidePanel() {
  const tab = useStore((s) => s.sideTab);
  const setTab = useStore((s) => s.setSideTab);
  useEffect(() => {
    installJobEvents();
    installViewerLink();
  }, []);
  return (
    <aside className="sidepanel" aria-label="Forward model, prior and run settings">
      <ProjectBar />
      <Steps />
      <nav className="tabs" role="tablist">
        {TABS.map((t) => (
          <button key={t.id} role="tab" aria-selected={tab === t.id} className={tab === t.id ? 'active' : ''} onClick={() => setTab(t.id)}>
            {t.label}
          </button>
        ))}
      </nav>
      <div className="tabbody" role="tabpanel" aria-label={TABS.find((t) => t.id === tab)?.label}>
        {tab === 'model' && <ModelEditor />}
        {tab === 'prior' && (
          <>
            <PriorPicker />
            <TrainPanel />
          </>
        )}
        {tab === 'run' && <RunPanel />}
      </div>
    </aside>
  );
}
